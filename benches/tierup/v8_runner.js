// Times fresh starts of one workload on V8 for benches/tierup (which runs it; not meant to
// be run by hand):
//   node --expose-gc v8_runner.js EXPORT RUNS SIZE,SIZE,...  < module.wasm
// For each size, RUNS times: compile the module anew (`new WebAssembly.Module`), instantiate
// it and call EXPORT(size), timed together with process.hrtime.bigint(). V8's defaults are
// left alone: lazy Liftoff compilation, dynamic tier-up to TurboFan on background threads.
// Prints one JSON object per run: {"size": N, "ns": "NANOS", "checksum": "DECIMAL"}, the
// checksum as a signed 64-bit integer (an i32 result sign-extended).
'use strict';
const fs = require('fs');

function fail(message) {
  process.stderr.write(`v8_runner.js: ${message}\n`);
  process.exit(2);
}

const [exportName, runsArg, sizesArg] = process.argv.slice(2);
if (sizesArg === undefined) fail('usage: node --expose-gc v8_runner.js EXPORT RUNS SIZE,SIZE,... < module.wasm');
const runs = Number(runsArg);
if (!Number.isInteger(runs) || runs < 1) fail(`RUNS must be a positive integer, not ${runsArg}`);
const sizes = sizesArg.split(',').map(Number);
if (sizes.some((size) => !Number.isInteger(size))) fail(`SIZES must be integers, not ${sizesArg}`);
const bytes = fs.readFileSync(0);
if (bytes.length === 0) fail('no module on stdin');

// V8 keeps a process-wide cache of compiled modules keyed by their bytes, so compiling the
// same bytes again could reuse the last run's code. Every run therefore compiles a distinct
// module: the workload plus a custom section (skipped by the engine) holding the run's
// number. Built before the timer starts.
const NONCE_NAME = Buffer.from('tierup-run');
function uniqueModule(counter) {
  const payload = Buffer.alloc(8);
  payload.writeBigUInt64LE(BigInt(counter));
  const contents = Buffer.concat([Buffer.from([NONCE_NAME.length]), NONCE_NAME, payload]);
  // Section id 0 (custom), its size as one LEB128 byte (contents are under 128 bytes).
  return Buffer.concat([bytes, Buffer.from([0, contents.length]), contents]);
}

let counter = 0;
for (const size of sizes) {
  for (let run = 0; run < runs; run++) {
    const module = uniqueModule(counter++);
    // Collect the previous runs' modules and instances outside the timed region.
    if (global.gc) global.gc();
    const start = process.hrtime.bigint();
    const instance = new WebAssembly.Instance(new WebAssembly.Module(module), {});
    const result = instance.exports[exportName](size);
    const ns = process.hrtime.bigint() - start;
    const checksum = typeof result === 'bigint' ? BigInt.asIntN(64, result) : BigInt(result | 0);
    process.stdout.write(`${JSON.stringify({ size, ns: ns.toString(), checksum: checksum.toString() })}\n`);
  }
}
