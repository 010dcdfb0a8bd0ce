// bench child: how long one `require` takes in a fresh process.
// usage: node bench/load.js cdktf|pkg; prints one JSON line.
// `pkg` requires the built package by name, through the symlink run.js makes in a temp
// node_modules (BENCH_PKG_ROOT), so it loads dist/index.js and everything that pulls in, cdktf too.
'use strict';
const { createRequire } = require('module');
const path = require('path');

const mode = process.argv[2];
let load;
if (mode === 'cdktf') {
  load = () => require('cdktf');
} else if (mode === 'pkg') {
  const root = process.env.BENCH_PKG_ROOT;
  if (!root) throw new Error('BENCH_PKG_ROOT must name a dir whose node_modules links cdktf-access-droplet');
  const req = createRequire(path.join(root, 'resolve.js'));
  load = () => req('cdktf-access-droplet');
} else {
  throw new Error('usage: node bench/load.js cdktf|pkg');
}
const t0 = performance.now();
load();
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ mode, ms, modules: Object.keys(require.cache).length }) + '\n');
