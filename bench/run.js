// `npm run bench`: synth time and peak memory of AccessDropletFleet against a hand-written
// baseline with the same resources (bench/baseline.js), and the package's module-load cost.
// Every measurement is a fresh `node` process; the best wall time of several runs is kept,
// because the machine is shared and noise only ever adds time. Runs of (a) and (b) alternate so
// that a burst of load hits both. Not part of CI: timings depend on the machine.
//
// env: BENCH_SIZES="1,10,200,1000" (host counts), BENCH_INFRA_SIZES="1000" (host counts of an
//      infrastructure-mode fleet; empty for none), BENCH_RUNS_TINY=9 (runs per size up to 10,
//      where node's own start-up noise dominates and a run costs well under a second),
//      BENCH_RUNS=5 (runs per size below 1000), BENCH_RUNS_LARGE=3 (runs at 1000 and above),
//      BENCH_LOAD_RUNS=7.
// besides wall time it reports CPU time (user + sys of the child, all threads): on a loaded
// machine a process waits for a core, which inflates wall time but not CPU time, so the CPU
// ratio is the steadier view of the library's own overhead. The targets use wall time.
// writes bench/out/last-run.json and bench/out/last-run.md (gitignored).
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const repo = path.resolve(__dirname, '..');
const outRoot = path.join(__dirname, 'out');
const sizes = (process.env.BENCH_SIZES || '1,10,200,1000').split(',').map(Number);
// infrastructure-mode fleets (Access for Infrastructure): targets, routes, per-user policies.
const infraSizes = (process.env.BENCH_INFRA_SIZES ?? '1000').split(',').filter((x) => x !== '').map(Number);
const runsTiny = Number(process.env.BENCH_RUNS_TINY || 9);
const runsSmall = Number(process.env.BENCH_RUNS || 5);
const runsLarge = Number(process.env.BENCH_RUNS_LARGE || 3);
const loadRuns = Number(process.env.BENCH_LOAD_RUNS || 7);

// issue 16: the ratio to the byte-identical baseline at most 1.00 from 200 hosts up (the library
// must be as fast as hand-written code where its build loop matters) and 1.05 below (node's
// start-up and the library's own modules dominate); 1000 hosts in 2.5 s and 350 MB.
const TARGETS = { ratioSmall: 1.05, ratioLarge: 1.00, largeFrom: 200, wallMs1000: 2500, rssMb1000: 350, loadDeltaMs: 150 };
const ratioTarget = (n) => (n >= TARGETS.largeFrom ? TARGETS.ratioLarge : TARGETS.ratioSmall);

const TIME = '/usr/bin/time';
const haveTime = fs.existsSync(TIME);

// a temp node_modules that links the package by name, so children require it as a consumer
// would (its "main", dist/index.js); synth output goes to the same temp dir.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdktf-access-droplet-bench-'));
fs.mkdirSync(path.join(tmp, 'node_modules'));
fs.symlinkSync(repo, path.join(tmp, 'node_modules', 'cdktf-access-droplet'), 'dir');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function loadavg() {
  return os.loadavg().map((l) => l.toFixed(2)).join(' ');
}

/** runs `node script ...args` fresh; returns wall ms (spawn to exit), CPU ms, peak RSS KB and the child's JSON. */
function runChild(script, args) {
  const timeFile = path.join(tmp, 'time.txt');
  const cmd = haveTime ? TIME : process.execPath;
  const cmdArgs = haveTime
    ? ['-f', '%M %U %S', '-o', timeFile, process.execPath, script, ...args]
    : [script, ...args];
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, cmdArgs, {
    cwd: repo,
    env: { ...process.env, BENCH_PKG_ROOT: tmp, CHECKPOINT_DISABLE: '1' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    throw new Error(`${path.basename(script)} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  }
  const report = JSON.parse(r.stdout.trim().split('\n').pop());
  if (!haveTime) return { wallMs, rssKb: report.maxRssKb, cpuMs: report.cpuMs, report };
  const [rssKb, user, sys] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
  return { wallMs, rssKb, cpuMs: (user + sys) * 1000, report };
}

/** resource and data source types with their counts, and the number of outputs. */
function inventory(outdir) {
  const file = path.join(outdir, 'stacks', 'bench', 'cdk.tf.json');
  const text = fs.readFileSync(file, 'utf8');
  const tf = JSON.parse(text);
  const counts = {};
  for (const kind of ['resource', 'data']) {
    for (const [type, items] of Object.entries(tf[kind] || {})) counts[`${kind}.${type}`] = Object.keys(items).length;
  }
  counts.output = Object.keys(tf.output || {}).length;
  return { counts, tf, bytes: Buffer.byteLength(text), sha: crypto.createHash('sha256').update(text).digest('hex') };
}

/** the first few JSON paths where two synthesized configs differ (for a note, not a failure). */
function differences(a, b, at = '', found = []) {
  if (found.length >= 3) return found;
  if (typeof a !== typeof b || Array.isArray(a) !== Array.isArray(b) || a === null || b === null || typeof a !== 'object') {
    if (a !== b) found.push(at || '/');
    return found;
  }
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])]) differences(a[k], b[k], `${at}/${k}`, found);
  return found;
}

function sameCounts(a, b) {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => a[k] !== b[k]).map((k) => `${k}: library ${a[k] ?? 0}, baseline ${b[k] ?? 0}`);
}

const mb = (kb) => kb / 1024;
const label = (r) => (r.mode === 'infrastructure' ? `${r.n} (infrastructure)` : String(r.n));
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

console.log(`machine: ${os.cpus().length} cpus (${os.cpus()[0].model}), node ${process.version}, ${os.platform()} ${os.release()}`);
console.log(`load average at start: ${loadavg()}`);
console.log(`peak RSS from ${haveTime ? `${TIME} -f %M` : "the child's process.resourceUsage().maxRSS"}`);

const rows = [];
const failures = [];
const cases = [...sizes.map((n) => ({ n, mode: 'self-hosted' })), ...infraSizes.map((n) => ({ n, mode: 'infrastructure' }))];
for (const { n, mode } of cases) {
  const modeArgs = mode === 'infrastructure' ? ['infrastructure'] : [];
  const runs = n >= 1000 ? runsLarge : n <= 10 ? runsTiny : runsSmall;
  const samples = { library: [], baseline: [] };
  let inv;
  for (let i = 0; i < runs; i++) {
    // alternate which goes first, so neither always follows the other's 10 MB write.
    const order = [['library', 'fleet.js'], ['baseline', 'baseline.js']];
    if (i % 2 === 1) order.reverse();
    for (const [kind, script] of order) {
      const outdir = path.join(tmp, `${kind}-${mode}-${n}`);
      fs.rmSync(outdir, { recursive: true, force: true });
      samples[kind].push(runChild(path.join(__dirname, script), [String(n), outdir, ...modeArgs]));
      if (i === runs - 1) {
        inv = inv || {};
        inv[kind] = inventory(outdir);
      }
    }
  }
  // the same resources, or the comparison means nothing.
  const diff = sameCounts(inv.library.counts, inv.baseline.counts);
  if (diff.length > 0) {
    console.error(`\nFAIL: at N=${label({ n, mode })} the library and the baseline synthesize different resources:\n  ${diff.join('\n  ')}`);
    process.exit(2);
  }
  const best = (kind) => samples[kind].reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
  const a = best('library');
  const b = best('baseline');
  const row = {
    n,
    mode,
    runs,
    wallA: a.wallMs,
    wallB: b.wallMs,
    ratio: a.wallMs / b.wallMs,
    cpuA: Math.min(...samples.library.map((s) => s.cpuMs)),
    cpuB: Math.min(...samples.baseline.map((s) => s.cpuMs)),
    // peak RSS: the highest of all runs (memory is far less noisy than time; the max is the
    // conservative figure for a limit).
    rssA: Math.max(...samples.library.map((s) => s.rssKb)),
    rssB: Math.max(...samples.baseline.map((s) => s.rssKb)),
    phasesA: a.report,
    phasesB: b.report,
    resources: Object.entries(inv.library.counts).filter(([k]) => k !== 'output').reduce((s, [, c]) => s + c, 0),
    identicalJson: inv.library.sha === inv.baseline.sha,
    firstDifferences: inv.library.sha === inv.baseline.sha ? [] : differences(inv.library.tf, inv.baseline.tf),
    jsonBytes: inv.library.bytes,
    loadavg: loadavg(),
  };
  rows.push(row);
  // the parsed configs are large at N=1000; keep only the counts.
  delete inv.library.tf;
  delete inv.baseline.tf;
  console.log(
    `N=${label(row)}: (a) ${fmt(row.wallA)} (b) ${fmt(row.wallB)} ratio ${row.ratio.toFixed(3)}; ` +
    `CPU (a) ${fmt(row.cpuA)} (b) ${fmt(row.cpuB)} ratio ${(row.cpuA / row.cpuB).toFixed(3)}; ` +
    `RSS (a) ${mb(row.rssA).toFixed(0)} MB (b) ${mb(row.rssB).toFixed(0)} MB; ` +
    `${row.resources} resources+data, cdk.tf.json ${row.identicalJson ? 'byte-identical' : 'DIFFERS (same types and counts)'}; load ${row.loadavg}`,
  );
  if (!row.identicalJson) {
    console.log(`  note: attribute values differ (e.g. ${row.firstDifferences.join(', ')}); bench/baseline.js may need to follow a lib change`);
  }
}

// module load: require('cdktf-access-droplet') against require('cdktf') alone, alternating.
const loads = { cdktf: [], pkg: [] };
for (let i = 0; i < loadRuns; i++) {
  for (const mode of ['cdktf', 'pkg']) loads[mode].push(runChild(path.join(__dirname, 'load.js'), [mode]).report);
}
const bestLoad = (mode) => Math.min(...loads[mode].map((r) => r.ms));
const load = {
  runs: loadRuns,
  cdktfMs: bestLoad('cdktf'),
  pkgMs: bestLoad('pkg'),
  cdktfModules: loads.cdktf[0].modules,
  pkgModules: loads.pkg[0].modules,
};
load.deltaMs = load.pkgMs - load.cdktfMs;

const lines = [];
lines.push('| N | wall (a) library | wall (b) baseline | ratio (a)/(b) | peak RSS (a) | peak RSS (b) | CPU (a) | CPU (b) | CPU ratio | runs | load avg after (1/5/15 min) |');
lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
for (const r of rows) {
  lines.push(`| ${label(r)} | ${fmt(r.wallA)} | ${fmt(r.wallB)} | ${r.ratio.toFixed(3)} | ${mb(r.rssA).toFixed(0)} MB | ${mb(r.rssB).toFixed(0)} MB | ` +
    `${fmt(r.cpuA)} | ${fmt(r.cpuB)} | ${(r.cpuA / r.cpuB).toFixed(3)} | ${r.runs} | ${r.loadavg} |`);
}
lines.push('');
lines.push('Wall and CPU: best of the runs; peak RSS: highest of the runs. (a) and (b) write byte-identical cdk.tf.json: ' +
  rows.map((r) => `N=${label(r)} ${r.identicalJson ? 'yes' : 'no'}`).join(', ') + '.');
lines.push('');
lines.push('Phases of the best run (in-process: require / construct / synth):');
lines.push('');
lines.push('| N | (a) require | (a) construct | (a) synth | (b) require | (b) construct | (b) synth |');
lines.push('|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const p = (x) => `${fmt(x.requireMs)} | ${fmt(x.constructMs)} | ${fmt(x.synthMs)}`;
  lines.push(`| ${label(r)} | ${p(r.phasesA)} | ${p(r.phasesB)} |`);
}
lines.push('');
lines.push(`Module load (best of ${load.runs} fresh processes): require('cdktf') ${fmt(load.cdktfMs)} (${load.cdktfModules} modules), ` +
  `require('cdktf-access-droplet') ${fmt(load.pkgMs)} (${load.pkgModules} modules), difference ${fmt(load.deltaMs)}`);

// targets.
const verdicts = [];
const check = (ok, text) => {
  verdicts.push(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
  if (!ok) failures.push(text);
};
for (const r of rows) check(r.ratio <= ratioTarget(r.n), `N=${label(r)}: ratio (a)/(b) ${r.ratio.toFixed(3)} <= ${ratioTarget(r.n).toFixed(2)}`);
const bigRows = rows.filter((r) => r.n === 1000);
for (const big of bigRows) {
  check(big.wallA < TARGETS.wallMs1000, `N=${label(big)}: library wall ${fmt(big.wallA)} < ${fmt(TARGETS.wallMs1000)}`);
  check(mb(big.rssA) < TARGETS.rssMb1000, `N=${label(big)}: library peak RSS ${mb(big.rssA).toFixed(0)} MB < ${TARGETS.rssMb1000} MB`);
}
if (bigRows.length === 0) verdicts.push('SKIP  N=1000 targets (1000 not in BENCH_SIZES or BENCH_INFRA_SIZES)');
check(load.deltaMs < TARGETS.loadDeltaMs, `require('cdktf-access-droplet') - require('cdktf') = ${fmt(load.deltaMs)} < ${TARGETS.loadDeltaMs} ms`);

console.log('\n' + lines.join('\n'));
console.log('\n' + verdicts.join('\n'));
console.log(`\nload average at end: ${loadavg()}`);

fs.mkdirSync(outRoot, { recursive: true });
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0].model,
  node: process.version,
  date: new Date().toISOString(),
};
fs.writeFileSync(path.join(outRoot, 'last-run.json'), JSON.stringify({ machine, rows, load, verdicts }, null, 2));
fs.writeFileSync(path.join(outRoot, 'last-run.md'), `${JSON.stringify(machine)}\n\n${lines.join('\n')}\n\n${verdicts.join('\n')}\n`);

if (failures.length > 0) {
  console.error(`\nbench: ${failures.length} target(s) FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('\nbench: all targets PASS');
