// ort_run.js - runs an ONNX model with ONNX Runtime (the oracle for the ONNX frontend).
//
//   node ort_run.js ORT_DIR MODEL.onnx INPUT.npy OUTPUT.npy [OUTPUT_NAME]
//
// ORT_DIR is where tests/onnx/install_ort.sh installed onnxruntime-node. The model's first
// input gets INPUT.npy (f32, C order); its first output (or OUTPUT_NAME) is written as .npy
// (f32, or i64 for integer outputs such as ArgMax). One intra-op thread, so the suite does
// not fight the other tests for the 2 cores, and no graph optimisations: the oracle is each
// op's own kernel, not ORT's rewrites of the graph.
'use strict';

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stderr.write(`ort_run.js: ${message}\n`);
  process.exit(1);
}

function readNpy(file) {
  const bytes = fs.readFileSync(file);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const headerStart = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', headerStart, headerStart + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shape) fail(`${file}: cannot parse the header ${header}`);
  if (order[1] !== 'False') fail(`${file}: Fortran order is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  const raw = bytes.subarray(dataStart, dataStart + count * 4);
  if (descr[1] !== '<f4') fail(`${file}: expected float32 data ('<f4'), got '${descr[1]}'`);
  if (raw.length !== count * 4) fail(`${file}: truncated data`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; ++i) data[i] = raw.readFloatLE(i * 4);
  return { data, dims };
}

function writeNpy(file, tensor) {
  let descr, itemSize, write;
  if (tensor.type === 'float32') {
    [descr, itemSize, write] = ['<f4', 4, (buf, i, v) => buf.writeFloatLE(v, i * 4)];
  } else if (tensor.type === 'int64') {
    [descr, itemSize, write] = ['<i8', 8, (buf, i, v) => buf.writeBigInt64LE(BigInt(v), i * 8)];
  } else if (tensor.type === 'int32') {
    [descr, itemSize, write] = ['<i4', 4, (buf, i, v) => buf.writeInt32LE(v, i * 4)];
  } else {
    fail(`output type ${tensor.type} is not supported`);
  }
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(tensor.data.length * itemSize);
  for (let i = 0; i < tensor.data.length; ++i) write(body, i, tensor.data[i]);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [ortDir, model, inputFile, outputFile, outputName] = process.argv.slice(2);
  if (!outputFile) fail('usage: node ort_run.js ORT_DIR MODEL.onnx INPUT.npy OUTPUT.npy [OUTPUT_NAME]');
  let ort;
  try {
    ort = require(path.resolve(ortDir, 'node_modules', 'onnxruntime-node'));
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${ortDir} (run tests/onnx/install_ort.sh): ${e.message}`);
  }
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'disabled',
  });
  const input = readNpy(inputFile);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, input.dims) };
  const name = outputName || session.outputNames[0];
  if (!session.outputNames.includes(name)) fail(`${model}: no output '${name}' (${session.outputNames})`);
  const results = await session.run(feeds, [name]);
  writeNpy(outputFile, results[name]);
}

main().catch((e) => fail(e.stack || String(e)));
