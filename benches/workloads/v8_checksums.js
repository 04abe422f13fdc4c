// Prints each compiled workload's checksum at the small size that tests/workloads.rs uses,
// computed by V8 (Node.js): the independent oracle for that test.
//   node benches/workloads/v8_checksums.js
const fs = require('fs');
const path = require('path');
const sizes = {
  recursion: 3, collatz: 2000, vm: 500, quicksort: 3000, heapsort: 3000, hash32: 3,
  hash64: 30, sieve: 20000, matmul: 12, nbody: 300, memops: 2000, parse: 300, indirect: 5000,
};
for (const [name, size] of Object.entries(sizes)) {
  const bytes = fs.readFileSync(path.join(__dirname, name + '.wasm'));
  const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const sum = exports.run(size);
  const hex = typeof sum === 'bigint'
    ? BigInt.asUintN(64, sum).toString(16)
    : (sum >>> 0).toString(16);
  console.log(`${name} ${size} 0x${hex}`);
}
