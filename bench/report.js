// the one JSON line each bench child prints for bench/run.js: its phases and its resource use.
'use strict';

/**
 * @param {string} kind 'library' or 'baseline'
 * @param {number} n the number of hosts
 * @param {{ t0: number, tRequire: number, tConstruct: number, tSynth: number }} t performance.now() marks
 */
function report(kind, n, t) {
  const usage = process.resourceUsage();
  process.stdout.write(JSON.stringify({
    kind,
    n,
    requireMs: t.tRequire - t.t0,
    constructMs: t.tConstruct - t.tRequire,
    synthMs: t.tSynth - t.tConstruct,
    maxRssKb: usage.maxRSS,
    cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  }) + '\n');
}

module.exports = { report };
