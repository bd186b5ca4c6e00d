// ort_timer: times an ONNX model in ONNX Runtime (npm onnxruntime-node), as bench/run's peer.
//
//   NODE_PATH=<dir>/node_modules node ort_timer.js MODEL.onnx THREADS RUNS WARMUP
//   prints {"ms":[t1,...]} (wall time of each session.run)
'use strict';
const ort = require('onnxruntime-node');

async function main() {
  const [model, threads, runs, warmup] = process.argv.slice(2);
  if (!warmup) {
    console.error('usage: node ort_timer.js MODEL.onnx THREADS RUNS WARMUP');
    process.exit(2);
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const name = session.inputNames[0];
  const dims = session.inputMetadata
    ? session.inputMetadata.find((m) => m.name === name)?.shape
    : undefined;
  const shape = (dims && dims.every((d) => typeof d === 'number')) ? dims : JSON.parse(process.env.BENCH_SHAPE);
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; ++i) data[i] = ((Math.imul(i, 2654435761) >>> 0) % 1000) / 500 - 1;
  const feeds = { [name]: new ort.Tensor('float32', data, shape) };
  for (let r = 0; r < Number(warmup); ++r) await session.run(feeds);
  const ms = [];
  for (let r = 0; r < Number(runs); ++r) {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  console.log(JSON.stringify({ ms }));
}

main().catch((error) => {
  console.error(`ort_timer: ${error.message}`);
  process.exit(1);
});
