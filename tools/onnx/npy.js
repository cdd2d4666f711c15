// Minimal .npy reader/writer for the ONNX Runtime harness (ort_run.js):
// little-endian float32 (<f4), float64 (<f8) and int64 (<i8), C order only,
// format versions 1.0, 2.0 and 3.0.
'use strict';
const fs = require('fs');

const DTYPES = {
  '<f4': { ort: 'float32', Array: Float32Array },
  '<f8': { ort: 'float64', Array: Float64Array },
  '<i8': { ort: 'int64', Array: BigInt64Array },
};
const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// Returns {file, dtype: '<f4'|'<f8'|'<i8', ortType, shape: number[], data: TypedArray}.
function readNpy(file) {
  const fail = (why) => { throw new Error(`${file}: ${why}`); };
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) fail('not a .npy file (bad magic)');
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) { hlen = buf.readUInt16LE(8); hstart = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); hstart = 12; }
  else fail(`unsupported .npy version ${major}.${buf[7]}`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) fail(`cannot parse header ${JSON.stringify(header.trim())}`);
  if (fortran[1] === 'True') fail('Fortran-order arrays are not supported (save a C-contiguous array)');
  const dt = DTYPES[descr[1]];
  if (!dt) fail(`dtype '${descr[1]}' is not supported (only ${Object.keys(DTYPES).join(', ')})`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (dims.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shape[1]})`);
  const count = dims.reduce((a, b) => a * b, 1);
  const start = hstart + hlen, bytes = count * dt.Array.BYTES_PER_ELEMENT;
  if (buf.length - start !== bytes) fail(`expected ${bytes} data bytes for shape [${dims}], found ${buf.length - start}`);
  // Copy into a fresh, aligned ArrayBuffer.
  const data = new dt.Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + bytes));
  return { file, dtype: descr[1], ortType: dt.ort, shape: dims, data };
}

// Writes a version 1.0 .npy; ortType is 'float32', 'float64' or 'int64'.
function writeNpy(file, ortType, shape, data) {
  const descr = Object.keys(DTYPES).find((k) => DTYPES[k].ort === ortType);
  if (!descr) throw new Error(`${file}: cannot write tensor type '${ortType}' as .npy`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n'; // 10 + len is a multiple of 64
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre); pre[6] = 1; pre[7] = 0; pre.writeUInt16LE(header.length, 8);
  const typed = data instanceof DTYPES[descr].Array ? data : DTYPES[descr].Array.from(data);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'),
    Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength)]));
}

module.exports = { readNpy, writeNpy, DTYPES };
