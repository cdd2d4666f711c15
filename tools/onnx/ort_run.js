#!/usr/bin/env node
// ONNX Runtime (CPU, onnxruntime-node) harness for Plexus: checks ONNX files
// against expected .npy outputs (ctest), runs a model once, times it (bench),
// or times many callers at once (serve, in ort_serve.js).
// Install the runtime first: tools/onnx/install.sh.
'use strict';
const fs = require('fs');
const path = require('path');
const { readNpy, writeNpy } = require('./npy.js');

const USAGE = `usage:
  node ort_run.js check MANIFEST.json
      MANIFEST: [{"name", "model", "input", "expected", "rtol", "atol"?: 0, "threads"?: 1}, ...]
      (paths relative to the manifest's folder); exit 0 iff every case passes
  node ort_run.js run MODEL INPUT.npy OUTPUT.npy [--threads T]
  node ort_run.js bench MODEL --width F [--batch B=1] [--threads T=1] [--calls N=1000]
      [--rounds R=3] [--warmup W=100] [--double] [--json-out FILE]
  node ort_run.js serve MODEL --width F [--seconds S=2] [--callers 1,2,8,32] [--batches 1,64]
      [--threads T=cores] [--expect INIT_FILE]
      many callers: one shared session against worker_threads with a session each (see ort_serve.js)`;

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    console.error(`cannot load onnxruntime-node (run tools/onnx/install.sh): ${e.message}`);
    process.exit(2);
  }
}
const ort = loadOrt();

function sessionOptions(threads) {
  return { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential' };
}

const shapeStr = (s) => `[${s.join(', ')}]`;

// Runs a single-input, single-output model; returns the output tensor.
async function runOnce(session, npy) {
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    throw new Error(`model has ${session.inputNames.length} inputs and ${session.outputNames.length} outputs; ` +
      'exactly one of each is supported');
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor(npy.ortType, npy.data, npy.shape) };
  try {
    return (await session.run(feeds))[session.outputNames[0]];
  } catch (e) {
    throw new Error(`run on ${npy.file} (${npy.ortType}, shape ${shapeStr(npy.shape)}) failed: ${e.message}`);
  }
}

function unravel(i, shape) {
  const idx = [];
  for (let d = shape.length - 1; d >= 0; d--) { idx.unshift(i % shape[d]); i = Math.floor(i / shape[d]); }
  return shapeStr(idx);
}

// Compares element-wise (|got - want| <= atol + rtol*|want|); returns {stats, error: null or the reason}.
function compare(got, want, rtol, atol) {
  if (got.type !== want.ortType) {
    return { error: `output type ${got.type} but expected ${want.ortType} (${want.dtype})` };
  }
  if (shapeStr(got.dims) !== shapeStr(want.shape)) {
    return { error: `output shape ${shapeStr(got.dims)} but expected shape ${shapeStr(want.shape)}` };
  }
  let maxAbs = 0, maxRel = 0, bad = 0, worst = -1, worstExcess = -Infinity;
  for (let i = 0; i < want.data.length; i++) {
    const g = Number(got.data[i]), w = Number(want.data[i]);
    if (g === w || (Number.isNaN(g) && Number.isNaN(w))) continue; // equal, incl. inf and NaN
    const d = Math.abs(g - w); // NaN or inf when one side is NaN or inf (they are not equal)
    const excess = Number.isFinite(d) ? d - (atol + rtol * Math.abs(w)) : Infinity;
    if (!Number.isNaN(d)) {
      maxAbs = Math.max(maxAbs, d);
      if (w !== 0) maxRel = Math.max(maxRel, d / Math.abs(w));
    }
    if (excess > 0) {
      bad++;
      if (excess > worstExcess) { worstExcess = excess; worst = i; }
    }
  }
  const stats = `max rel err ${maxRel.toExponential(3)}, max abs err ${maxAbs.toExponential(3)}, shape ${shapeStr(want.shape)}`;
  if (bad === 0) return { stats, error: null };
  return { stats, error: `${bad} of ${want.data.length} elements outside atol ${atol} + rtol ${rtol}*|expected|; worst at ` +
    `${unravel(worst, want.shape)}: ort ${got.data[worst]}, expected ${want.data[worst]} ` +
    `(${stats}; ort shape ${shapeStr(got.dims)})` };
}

async function check(manifestPath) {
  const base = path.dirname(path.resolve(manifestPath));
  const cases = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  if (!Array.isArray(cases)) throw new Error(`${manifestPath}: expected a JSON array of cases`);
  const sessions = new Map(); // model + threads -> Promise<InferenceSession>
  let passed = 0, failed = 0;
  for (const [k, c] of cases.entries()) {
    const name = c.name ?? `case ${k}`;
    try {
      for (const f of ['model', 'input', 'expected']) {
        if (typeof c[f] !== 'string') throw new Error(`manifest entry lacks "${f}"`);
      }
      if (typeof c.rtol !== 'number') throw new Error('manifest entry lacks a numeric "rtol"');
      const atol = c.atol ?? 0, threads = c.threads ?? 1;
      const model = path.resolve(base, c.model);
      if (!fs.existsSync(model)) throw new Error(`model file ${model} not found`);
      const key = `${model}\0${threads}`;
      if (!sessions.has(key)) sessions.set(key, ort.InferenceSession.create(model, sessionOptions(threads)));
      let session;
      try { session = await sessions.get(key); } catch (e) {
        throw new Error(`cannot create an ONNX Runtime session for ${model}: ${e.message}`);
      }
      const input = readNpy(path.resolve(base, c.input));
      const want = readNpy(path.resolve(base, c.expected));
      const got = await runOnce(session, input);
      const r = compare(got, want, c.rtol, atol);
      if (r.error) throw new Error(r.error);
      console.log(`ok ${name} (${r.stats})`);
      passed++;
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
      failed++;
    }
  }
  for (const s of sessions.values()) await s.then((x) => x.release(), () => {});
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

function parseFlags(args, spec) {
  const out = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i], key = a.replace(/^--/, '');
    if (!a.startsWith('--') || !(key in spec)) throw new Error(`unknown argument '${a}'`);
    if (spec[key] === 'bool') { out[key] = true; continue; }
    const v = args[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (spec[key] === 'int' && !/^[0-9]+$/.test(v)) throw new Error(`${a} needs a non-negative integer, got '${v}'`);
    out[key] = spec[key] === 'int' ? Number(v) : v;
  }
  return out;
}

async function run(model, inFile, outFile, rest) {
  const o = parseFlags(rest, { threads: 'int' });
  const session = await ort.InferenceSession.create(model, sessionOptions(o.threads ?? 1));
  const y = await runOnce(session, readNpy(inFile));
  writeNpy(outFile, y.type, y.dims, y.data);
  console.log(`wrote ${outFile} (${y.type}, shape ${shapeStr(y.dims)})`);
  return 0;
}

function quantile(sorted, q) { // nearest rank
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

async function bench(model, rest) {
  const o = parseFlags(rest, { width: 'int', batch: 'int', threads: 'int', calls: 'int', rounds: 'int',
    warmup: 'int', double: 'bool', 'json-out': 'str' });
  if (!o.width) throw new Error('bench needs --width F (> 0)');
  const batch = o.batch ?? 1, threads = o.threads ?? 1, calls = o.calls ?? 1000;
  const rounds = o.rounds ?? 3, warmup = o.warmup ?? 100, type = o.double ? 'float64' : 'float32';
  if (!batch || !threads || !calls || !rounds) throw new Error('--batch, --threads, --calls and --rounds must be > 0');
  const session = await ort.InferenceSession.create(model, sessionOptions(threads));
  const data = (o.double ? Float64Array : Float32Array).from({ length: batch * o.width }, () => Math.random() * 2 - 1);
  const feeds = { [session.inputNames[0]]: new ort.Tensor(type, data, [batch, o.width]) };
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const res = [];
  for (let r = 0; r < rounds; r++) {
    const t = new Float64Array(calls);
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feeds);
      t[i] = Number(process.hrtime.bigint() - t0) / 1e3;
    }
    const mean = t.reduce((a, b) => a + b, 0) / calls;
    t.sort();
    const r3 = (x) => Math.round(x * 1000) / 1000;
    res.push({ median_us: r3(median(t)), p99_us: r3(quantile(t, 0.99)), mean_us: r3(mean) });
  }
  await session.release();
  const best = res.reduce((a, b) => (b.median_us < a.median_us ? b : a));
  const line = JSON.stringify({ engine: 'onnxruntime', version: ort.env.versions.node, model: path.resolve(model),
    dtype: type, width: o.width, batch, threads, inter_op_threads: 1, calls, warmup,
    median_us: best.median_us, p99_us: best.p99_us, mean_us: best.mean_us,
    best_round_median_us: best.median_us, rounds: res });
  console.log(line);
  if (o['json-out']) fs.writeFileSync(o['json-out'], line + '\n');
  return 0;
}

function serve(model, rest) {
  const o = parseFlags(rest, { width: 'int', seconds: 'int', callers: 'str', batches: 'str', threads: 'int',
    expect: 'str' });
  if (!o.width) throw new Error('serve needs --width F (> 0)');
  const list = (flag, text) => text.split(',').map((v) => {
    if (!/^[0-9]+$/.test(v) || +v < 1 || +v > 4096) throw new Error(`--${flag} needs integers in [1, 4096], got '${text}'`);
    return +v;
  });
  const { serve: run, cores } = require('./ort_serve.js');
  const opts = { width: o.width, seconds: o.seconds ?? 2, threads: o.threads ?? cores(), expect: o.expect,
    callers: list('callers', o.callers ?? '1,2,8,32'), batches: list('batches', o.batches ?? '1,64') };
  if (!opts.seconds || !opts.threads) throw new Error('--seconds and --threads must be > 0');
  return run(ort, model, opts, sessionOptions);
}

async function main(argv) {
  const [mode, ...args] = argv;
  if (mode === 'check' && args.length === 1) return check(args[0]);
  if (mode === 'run' && args.length >= 3) return run(args[0], args[1], args[2], args.slice(3));
  if (mode === 'bench' && args.length >= 1) return bench(args[0], args.slice(1));
  if (mode === 'serve' && args.length >= 1) return serve(args[0], args.slice(1));
  console.error(USAGE);
  return 2;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  console.error(`ort_run.js: ${e.message}`);
  process.exitCode = 2;
});
