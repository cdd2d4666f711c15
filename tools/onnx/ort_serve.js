// ort_run.js serve: the ONNX Runtime side of the serving benchmark
// (bench/serving.sh), in the rows of plexus_serving and plexus_torch_serving.
//
// onnxruntime-node's session.run defers to setImmediate and then runs the
// model synchronously on the calling JavaScript thread, so T async callers
// of one session in one Node thread take turns: their calls never overlap.
// Two setups are measured, both in closed loops (each caller awaits its
// call, then issues the next):
//   shared  - one session (intra-op threads = cores), T async callers;
//   workers - T worker_threads, each with its own session of 1 intra-op
//             thread: the calls do overlap, but it is T sessions (T copies
//             of the weights), not one shared session.
// The ideal is cores x the rate of one caller on a 1-thread session.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const now = () => process.hrtime.bigint();
const micros = (t0) => Number(now() - t0) / 1e3;

function inputFeeds(ort, session, width, batch) {
  const data = Float32Array.from({ length: batch * width }, () => Math.random() * 4 - 2);
  return { [session.inputNames[0]]: new ort.Tensor('float32', data, [batch, width]) };
}

// `callers` async loops on one session until `end`; their latencies in us.
async function closedLoops(session, feeds, callers, end) {
  const lat = [];
  const loop = async () => {
    while (now() < end) {
      const t0 = now();
      await session.run(feeds);
      lat.push(micros(t0));
    }
  };
  await Promise.all(Array.from({ length: callers }, loop));
  return lat;
}

// A worker: its own session; 'warm' makes the batch's input and runs it
// thrice, 'go' runs a closed loop until the given end and sends back the
// latencies, 'exit' releases the session.
if (!isMainThread && workerData && workerData.ortServeWorker) {
  const ort = require('onnxruntime-node');
  let session = null, feeds = null;
  parentPort.on('message', (m) => {
    (async () => {
      if (m.cmd === 'warm') {
        feeds = inputFeeds(ort, session, workerData.width, m.batch);
        for (let i = 0; i < 3; i++) await session.run(feeds);
        return {};
      }
      if (m.cmd === 'go') {
        const lat = Float64Array.from(await closedLoops(session, feeds, 1, m.end));
        return { lat };
      }
      await session.release();
      return {};
    })().then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: e.message }));
  });
  ort.InferenceSession.create(workerData.model, workerData.options)
    .then((s) => { session = s; parentPort.postMessage({}); }, (e) => parentPort.postMessage({ error: e.message }));
}

// The worker's next message (its reply to `msg`, when given).
function reply(worker, msg) {
  return new Promise((resolve, reject) => {
    const onError = (e) => { worker.off('message', onMessage); reject(e); };
    const onMessage = (m) => {
      worker.off('error', onError);
      if (m.error) reject(new Error(`worker: ${m.error}`));
      else resolve(m);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    if (msg) worker.postMessage(msg);
  });
}

function summary(lat, took) {
  const s = Float64Array.from(lat).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.floor(s.length * q))];
  return { calls_per_s: s.length / took, median_us: at(0.5), p99_us: at(0.99) };
}

// Reads plexus_serving --init-out's inputs and Plexus' outputs for them
// (layout in bench/init_file.hpp).
function readInitFile(file) {
  const b = fs.readFileSync(file);
  if (b.length < 40 || b.toString('latin1', 0, 8) !== 'PLXINIT1') throw new Error(`${file} is not an init file`);
  const [params, rows, width, out] = [0, 1, 2, 3].map((i) => Number(b.readBigInt64LE(8 + 8 * i)));
  const floats = (at, n) => {
    if (at + 4 * n > b.length) throw new Error(`${file} is truncated`);
    return new Float32Array(b.buffer.slice(b.byteOffset + at, b.byteOffset + at + 4 * n));
  };
  const xAt = 40 + 4 * params;
  return { rows, width, out, x: floats(xAt, rows * width), y: floats(xAt + 4 * rows * width, rows * out) };
}

async function checkAgainstPlexus(ort, session, file) {
  const f = readInitFile(file);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', f.x, [f.rows, f.width]) };
  const got = (await session.run(feeds))[session.outputNames[0]].data;
  let diff = 0, scale = 0;
  for (let i = 0; i < f.y.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - f.y[i]));
    scale = Math.max(scale, Math.abs(f.y[i]));
  }
  const rel = diff / (scale > 0 ? scale : 1);
  const g = (x) => x.toPrecision(3);
  console.log(`check: ${f.rows} inputs, max |ort - plexus| = ${g(diff)}, max |plexus| = ${g(scale)}, ` +
    `relative ${g(rel)} (limit 1e-5)`);
  return got.length === f.y.length && rel <= 1e-5;
}

const row = (b, c, mode, r, ideal, serial) => console.log(`| ${b} | ${c} | ${mode} | ${r.calls_per_s.toFixed(0)} | ` +
  `${(r.calls_per_s / ideal).toFixed(2)} | ${r.median_us.toFixed(0)} | ${r.p99_us.toFixed(0)} | ` +
  `${(r.p99_us / serial.median_us).toFixed(1)} |`);

// o: {seconds, callers: [..], batches: [..], threads, width, expect}; sessionOptions(threads) as ort_run.js'.
async function serve(ort, model, o, sessionOptions) {
  const cores = o.threads, ns = BigInt(Math.round(o.seconds * 1e9));
  const single = await ort.InferenceSession.create(model, sessionOptions(1));
  const shared = await ort.InferenceSession.create(model, sessionOptions(cores));
  if (o.expect && !(await checkAgainstPlexus(ort, shared, o.expect))) {
    console.error('ort_run.js serve: ONNX Runtime\'s outputs differ from Plexus\' beyond 1e-5 relative');
    return 1;
  }
  const workers = [];
  try {
    const data = { ortServeWorker: true, model: path.resolve(model), options: sessionOptions(1), width: o.width };
    for (let i = 0; i < Math.max(...o.callers); i++) workers.push(new Worker(__filename, { workerData: data }));
    await Promise.all(workers.map((w) => reply(w)));  // each one's session made
    console.log(`ort_run.js serve: onnxruntime-node ${ort.env.versions.node}, node ${process.version}, ` +
      `${cores} threads (cores), ${o.seconds} s per row, ${path.resolve(model)}`);
    console.log('| batch | callers | mode | calls/s | / ideal | median us | p99 us | p99 / serial median |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const b of o.batches) {
      const timed = async (session, callers) => {
        const feeds = inputFeeds(ort, session, o.width, b);
        for (let i = 0; i < 3; i++) await session.run(feeds);
        const start = now();
        const lat = await closedLoops(session, feeds, callers, start + ns);
        return summary(lat, Number(now() - start) / 1e9);
      };
      const serial = await timed(single, 1), ideal = cores * serial.calls_per_s;
      console.log(`| ${b} | 1 | serial: 1 session, 1 thread | ${serial.calls_per_s.toFixed(0)} | ` +
        `ideal ${ideal.toFixed(0)} | ${serial.median_us.toFixed(0)} | ${serial.p99_us.toFixed(0)} | 1 |`);
      for (const c of o.callers) {
        row(b, c, `one shared session, ${cores} threads, async callers`, await timed(shared, c), ideal, serial);
        const team = workers.slice(0, c);
        await Promise.all(team.map((w) => reply(w, { cmd: 'warm', batch: b })));
        const start = now(), end = start + ns;
        const lats = await Promise.all(team.map((w) => reply(w, { cmd: 'go', end })));
        const took = Number(now() - start) / 1e9;
        row(b, c, 'worker_threads, a 1-thread session each', summary(lats.flatMap((m) => Array.from(m.lat)), took),
          ideal, serial);
      }
    }
  } finally {
    await Promise.all(workers.map((w) => reply(w, { cmd: 'exit' }).catch(() => {})));
    await Promise.all(workers.map((w) => w.terminate()));
    await single.release();
    await shared.release();
  }
  return 0;
}

module.exports = { serve, cores: () => (os.availableParallelism ? os.availableParallelism() : os.cpus().length) };
