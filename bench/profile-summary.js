// summarizes a V8 .cpuprofile (from `node --cpu-prof`): top functions by self and by total time.
// usage: node bench/profile-summary.js <file.cpuprofile> [top=25]
'use strict';
const fs = require('fs');
const path = require('path');

const file = process.argv[2];
const top = Number(process.argv[3] || 25);
if (!file) throw new Error('usage: node bench/profile-summary.js <file.cpuprofile> [top]');
const profile = JSON.parse(fs.readFileSync(file, 'utf8'));

const byId = new Map();
for (const node of profile.nodes) byId.set(node.id, node);
const parent = new Map();
for (const node of profile.nodes) for (const c of node.children || []) parent.set(c, node.id);

const root = process.cwd();
function key(node) {
  const f = node.callFrame;
  let url = f.url.replace(/^file:\/\//, '');
  if (url.startsWith(root)) url = path.relative(root, url);
  url = url.replace(/^.*node_modules\//, '~/');
  return `${f.functionName || '(anonymous)'} ${url}${url ? `:${f.lineNumber + 1}` : ''}`;
}

const self = new Map();
const total = new Map();
let sum = 0;
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  // a sample's time is the delta to the next sample.
  const dt = (i + 1 < deltas.length ? deltas[i + 1] : 0) / 1000;
  sum += dt;
  let id = profile.samples[i];
  const leaf = key(byId.get(id));
  self.set(leaf, (self.get(leaf) || 0) + dt);
  const seen = new Set();
  while (id !== undefined) {
    const k = key(byId.get(id));
    if (!seen.has(k)) {
      seen.add(k);
      total.set(k, (total.get(k) || 0) + dt);
    }
    id = parent.get(id);
  }
}

function print(title, map) {
  console.log(`\n${title} (of ${sum.toFixed(0)} ms sampled)`);
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, ms] of rows) {
    console.log(`${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / sum).toFixed(1).padStart(5)}%  ${k}`);
  }
}
print('top self time', self);
print('top total time', total);

// optional: where the time of one function (argv[4]) comes from, attributed to the nearest
// calling frame whose key contains argv[5] (e.g. "dist/" for the library's own code).
if (process.argv[4]) {
  const target = process.argv[4];
  const near = process.argv[5] || 'dist/';
  const by = new Map();
  let hit = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (i + 1 < deltas.length ? deltas[i + 1] : 0) / 1000;
    let id = profile.samples[i];
    let inside = false;
    let chain = [];
    while (id !== undefined) {
      const k = key(byId.get(id));
      chain.push(k);
      if (!inside && byId.get(id).callFrame.functionName === target) inside = true;
      else if (inside && k.includes(near)) break;
      id = parent.get(id);
    }
    if (!inside) continue;
    hit += dt;
    // the caller chain from the matched frame down to the first two frames below it.
    const at = chain.length - 1;
    const label = id === undefined ? '(no caller matching)' : chain.slice(Math.max(0, at - 2), at + 1).reverse().join(' > ');
    by.set(label, (by.get(label) || 0) + dt);
  }
  console.log(`\n${target}: ${hit.toFixed(0)} ms, by nearest caller matching "${near}"`);
  for (const [k, ms] of [...by.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms.toFixed(0).padStart(7)} ms  ${k}`);
  }
}
