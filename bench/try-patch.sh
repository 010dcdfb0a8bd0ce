#!/bin/sh
# Measures a proposed lib/ change without touching lib/: copies lib/ to bench/out/variant,
# (as committed at LIB_REF, default HEAD),
# applies the patch to one copy (paths as in `git diff`, i.e. a/lib/...), compiles both with the
# package build's compiler options, then times fleet.js at N hosts, unpatched against patched, alternating,
# best of RUNS, and counts the stack traces cdktf captures in each. The two cdk.tf.json files must
# be byte-identical (a pure optimisation), else it says so.
# usage: [NODE_ARGS="-r ts-node/register/transpile-only"] sh bench/try-patch.sh bench/proposals/x.diff [N=1000] [RUNS=5]
set -eu
patch_file=$(realpath "$1")
n=${2:-1000}
runs=${3:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
v=$repo/bench/out/variant
rm -rf "$v" && mkdir -p "$v"
# two packages compiled the same way from copies of the current lib/: base as is, pkg patched;
# each has its dist next to links to the shipped fragments, like the real package.
for k in base pkg; do
  mkdir -p "$v/$k/node_modules" "$v/$k/p"
  # lib/ as committed at LIB_REF (default HEAD): the working tree may be mid-edit.
  (cd "$repo" && git archive "${LIB_REF:-HEAD}" lib) | tar -x -C "$v/$k/p"
  if [ "$k" = pkg ]; then (cd "$v/$k/p" && patch -s -p1 < "$patch_file"); fi
  ln -s "$repo/cloud-init" "$v/$k/p/cloud-init"
  ln -s "$repo/assets" "$v/$k/p/assets"
  cp "$repo/package.json" "$v/$k/p/package.json"
  # the compiler options of the package build (jsii's generated tsconfig.jsii.json), written out
  # here so that the bench does not depend on the build setup at LIB_REF.
  cat > "$v/$k/p/tsconfig.json" <<JSON
{ "compilerOptions": { "rootDir": "lib", "outDir": "dist", "target": "es2020", "lib": ["es2020"], "module": "commonjs",
  "strict": true, "skipLibCheck": true, "resolveJsonModule": true, "experimentalDecorators": true, "esModuleInterop": false,
  "inlineSourceMap": true, "inlineSources": true, "types": ["node"] },
  "include": ["lib/**/*.ts"] }
JSON
  (cd "$repo" && node_modules/.bin/tsc -p "$v/$k/p/tsconfig.json")
  ln -s "$v/$k/p" "$v/$k/node_modules/cdktf-access-droplet"
done
cd "$repo"
node - "$n" "$runs" "$v" <<'JS'
const { spawnSync } = require('child_process');
const fs = require('fs');
const [n, runs, v] = process.argv.slice(2);
// NODE_ARGS, e.g. "-r ts-node/register/transpile-only", runs the children as the example app runs.
const nodeArgs = (process.env.NODE_ARGS || '').split(' ').filter(Boolean);
const out = {};
for (const k of ['base', 'pkg']) out[k] = { wall: [], cpu: [], traces: 0 };
for (let i = 0; i < Number(runs); i++) {
  for (const k of ['base', 'pkg']) {
    const t = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', `${v}/time.txt`, process.execPath, ...nodeArgs, 'bench/fleet.js', n, `${v}/out-${k}`],
      { env: { ...process.env, BENCH_PKG_ROOT: `${v}/${k}` }, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    out[k].wall.push(Number(process.hrtime.bigint() - t) / 1e6);
    const [u, s] = fs.readFileSync(`${v}/time.txt`, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    out[k].cpu.push((u + s) * 1000);
  }
}
for (const k of ['base', 'pkg']) {
  const r = spawnSync(process.execPath, ['-r', './bench/count-stack-traces.js', 'bench/fleet.js', n, `${v}/out-${k}`],
    { env: { ...process.env, BENCH_PKG_ROOT: `${v}/${k}` }, encoding: 'utf8' });
  out[k].traces = Number(/captured: (\d+)/.exec(r.stderr)[1]);
}
const same = fs.readFileSync(`${v}/out-base/stacks/bench/cdk.tf.json`, 'utf8') === fs.readFileSync(`${v}/out-pkg/stacks/bench/cdk.tf.json`, 'utf8');
const min = (a) => Math.min(...a);
const b = out.base, p = out.pkg;
console.log(`N=${n}, best of ${runs}${nodeArgs.length ? `, node ${nodeArgs.join(' ')}` : ''}, load ${require('os').loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`lib as is:    wall ${min(b.wall).toFixed(0)} ms, cpu ${min(b.cpu).toFixed(0)} ms, stack traces ${b.traces}`);
console.log(`with patch:   wall ${min(p.wall).toFixed(0)} ms, cpu ${min(p.cpu).toFixed(0)} ms, stack traces ${p.traces}`);
console.log(`gain: wall ${(min(b.wall) - min(p.wall)).toFixed(0)} ms (${((1 - min(p.wall) / min(b.wall)) * 100).toFixed(1)}%), cpu ${(min(b.cpu) - min(p.cpu)).toFixed(0)} ms (${((1 - min(p.cpu) / min(b.cpu)) * 100).toFixed(1)}%), stack traces -${b.traces - p.traces}`);
console.log(`cdk.tf.json ${same ? 'byte-identical' : 'DIFFERS: not a pure optimisation'}`);
JS
