// How fast does the example app start? Times the app command alone and `npx cdktf synth --app`
// for several ways of running main.ts, best of BENCH_APP_RUNS (3) fresh runs each, alternating.
// usage: node bench/app-start.js   (not part of `npm run bench`: it takes a few minutes)
// env: BENCH_APP_RUNS=3; BENCH_SWC_DIR=<dir with node_modules/@swc/core> when @swc/core is not a
//      dependency of the repo (it is put on NODE_PATH for the swc variants only).
// writes bench/out/app-start.json and bench/out/app-start.md (gitignored).
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const runs = Number(process.env.BENCH_APP_RUNS || 3);
const build = path.join(__dirname, 'out', 'app-build');
const rel = (p) => path.relative(repo, p);

// @swc/core: from the repo if it is there, else from BENCH_SWC_DIR.
let swcPath;
try {
  require.resolve('@swc/core', { paths: [repo] });
  swcPath = '';
} catch {
  const dir = process.env.BENCH_SWC_DIR && path.join(process.env.BENCH_SWC_DIR, 'node_modules');
  if (dir && fs.existsSync(path.join(dir, '@swc', 'core'))) swcPath = dir;
}

const tsc = `${rel(path.join(repo, 'node_modules', '.bin', 'tsc'))} -p ${rel(path.join(__dirname, 'tsconfig.app.json'))}`;
const variants = [
  { name: 'current cdktf.json: npx ts-node --transpile-only', app: 'npx ts-node --transpile-only main.ts' },
  { name: 'npx ts-node (type-checks)', app: 'npx ts-node main.ts' },
  { name: 'node -r ts-node/register/transpile-only', app: 'node -r ts-node/register/transpile-only main.ts' },
];
if (swcPath !== undefined) {
  const env = swcPath ? { NODE_PATH: swcPath } : {};
  variants.push({ name: 'npx ts-node --swc', app: 'npx ts-node --swc main.ts', env });
  variants.push({ name: 'node -r ts-node/register/transpile-only, TS_NODE_SWC=true', app: 'node -r ts-node/register/transpile-only main.ts', env: { ...env, TS_NODE_SWC: 'true' } });
}
variants.push({ name: 'precompiled: node main.js (tsc run beforehand)', app: `node ${rel(build)}/main.js`, precompiled: true });
variants.push({ name: 'tsc --incremental (no change) && node main.js', app: `${tsc} && node ${rel(build)}/main.js`, precompiled: true });

// the precompiled app: main.ts and lib/ compiled side by side, with the fragments and the asset
// where lib/ looks for them (../cloud-init, ../assets relative to the compiled lib/).
function precompile() {
  fs.rmSync(build, { recursive: true, force: true });
  const r = spawnSync('sh', ['-c', tsc], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
  for (const d of ['cloud-init', 'assets']) fs.symlinkSync(path.join(repo, d), path.join(build, d), 'dir');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-access-droplet-app-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function stackHash(outdir) {
  const file = path.join(outdir, 'stacks', 'access-droplet', 'cdk.tf.json');
  // the metadata holds nothing run-specific, but compare resources and outputs only to be safe.
  const tf = JSON.parse(fs.readFileSync(file, 'utf8'));
  return crypto.createHash('sha256').update(JSON.stringify([tf.resource, tf.data, tf.output, tf.provider])).digest('hex').slice(0, 12);
}

function time(kind, v) {
  const outdir = path.join(tmp, `${kind}`);
  fs.rmSync(outdir, { recursive: true, force: true });
  const env = { ...process.env, ...(v.env || {}), CHECKPOINT_DISABLE: '1' };
  let cmd;
  if (kind === 'app') {
    env.CDKTF_OUTDIR = outdir;
    cmd = ['sh', ['-c', v.app]];
  } else {
    cmd = ['npx', ['cdktf', 'synth', '--app', v.app, '--output', outdir]];
  }
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd[1], { cwd: repo, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`${kind} with "${v.app}" failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, hash: stackHash(outdir) };
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
console.log(`load average at start: ${loadavg()}`);
const t = performance.now();
precompile();
const fullTscMs = performance.now() - t;
console.log(`full tsc of main.ts + lib/ (type-check and emit): ${fullTscMs.toFixed(0)} ms`);

const results = variants.map((v) => ({ ...v, app_ms: [], synth_ms: [], hashes: new Set() }));
for (let i = 0; i < runs; i++) {
  for (const r of results) {
    for (const kind of ['app', 'synth']) {
      const m = time(kind, r);
      r[`${kind}_ms`].push(m.ms);
      r.hashes.add(m.hash);
    }
  }
}
const all = new Set(results.flatMap((r) => [...r.hashes]));
const lines = [];
lines.push('| app command | bare app (best) | `npx cdktf synth` (best) | all runs: app / synth (ms) |');
lines.push('|---|---:|---:|---|');
for (const r of results.sort((a, b) => Math.min(...a.synth_ms) - Math.min(...b.synth_ms))) {
  const env = Object.entries(r.env || {}).map(([k, v]) => `${k}=${k === 'NODE_PATH' ? '<swc>' : v} `).join('');
  lines.push(`| ${r.name}: \`${env}${r.app}\` | ${Math.min(...r.app_ms).toFixed(0)} ms | ${Math.min(...r.synth_ms).toFixed(0)} ms | ` +
    `${r.app_ms.map((x) => x.toFixed(0)).join(', ')} / ${r.synth_ms.map((x) => x.toFixed(0)).join(', ')} |`);
}
lines.push('');
lines.push(`best of ${runs}; full tsc (type-check + emit of main.ts and lib/) ${fullTscMs.toFixed(0)} ms; ` +
  `every variant synthesized ${all.size === 1 ? 'the same' : 'DIFFERENT'} resources/outputs (${[...all].join(', ')}); ` +
  `@swc/core ${swcPath === undefined ? 'not available: swc variants skipped' : swcPath ? `from ${swcPath}` : 'from the repo'}; load average at end ${loadavg()}`);
console.log('\n' + lines.join('\n'));
fs.writeFileSync(path.join(__dirname, 'out', 'app-start.md'), lines.join('\n') + '\n');
fs.writeFileSync(path.join(__dirname, 'out', 'app-start.json'), JSON.stringify(results.map((r) => ({ ...r, hashes: [...r.hashes] })), null, 2));
if (all.size !== 1) {
  console.error('app-start: the variants synthesized different stacks');
  process.exit(1);
}
