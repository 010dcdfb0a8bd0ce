// CDK Terrain (cdktn, the maintained fork of the archived cdktf): a consumer whose `cdktf` is
// `npm:cdktn@0.24.0`, with npm overrides so the prebuilt @cdktf/provider-* packages share it and
// constructs below 10.8 as cdktn asks, installs the packed tarball WITHOUT --legacy-peer-deps
// (npm's strict-peer-deps on, so any peer conflict fails the install) and synthesizes the same
// JSON as the same program on cdktf 0.21. Run after `npm run build` (npm run test:cdktn).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { checkSynth, compileAndSynth, consumerTools, pack, pkg, Report, run, Synthesized, writeConsumer } from './consumer';

/** The CDK Terrain release tested, and the constructs it accepts (peer range >=10.6.0 <10.8.0). */
export const CDKTN_VERSION = '0.24.0';
export const CDKTN_CONSTRUCTS = '10.7.2';

const PROVIDERS = ['@cdktf/provider-cloudflare', '@cdktf/provider-digitalocean', '@cdktf/provider-null'];

const report = new Report();
const check = report.check.bind(report);

/** Installs `dependencies` (and `overrides`) into a fresh consumer, refusing any peer conflict. */
function consumer(dir: string, dependencies: Record<string, string>, overrides?: Record<string, string>): string {
  writeConsumer(dir, { dependencies, ...(overrides ? { overrides } : {}) });
  // the project's own .npmrc wins over any user or global one that might allow conflicts.
  writeFileSync(join(dir, '.npmrc'), 'legacy-peer-deps=false\nstrict-peer-deps=true\n');
  return run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
}

/**
 * The synthesized stack with what legitimately differs taken out: the `//` metadata (it holds
 * the cdktf version, stack paths and the backend's absolute paths) and any absolute path under
 * the consumer's directory.
 */
function comparable(s: Synthesized, app: string): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).filter(([k]) => k !== '//').map(([k, x]) => [k, strip(x)]));
    }
    return typeof v === 'string' ? v.split(app).join('<app>') : v;
  };
  return JSON.stringify(strip(s.json), null, 2);
}

const work = mkdtempSync(join(tmpdir(), 'cdktn-test-'));
try {
  const { tarball } = pack(work);
  const providers = Object.fromEntries(PROVIDERS.map((p) => [p, pkg.devDependencies[p] as string]));
  const library = { 'cdktf-access-droplet': `file:${tarball}` };

  // the reference: cdktf 0.21 as the dev toolchain uses it.
  const cdktfApp = join(work, 'cdktf-app');
  consumer(cdktfApp, {
    ...library, ...providers, ...consumerTools, cdktf: pkg.devDependencies.cdktf, constructs: pkg.devDependencies.constructs,
  });
  console.log(`-- cdktf ${pkg.devDependencies.cdktf}, constructs ${pkg.devDependencies.constructs}`);
  const reference = compileAndSynth(cdktfApp, join(cdktfApp, 'cdktf.out'));
  checkSynth(report, reference);

  // CDK Terrain, installed without --legacy-peer-deps.
  const cdktnApp = join(work, 'cdktn-app');
  console.log(`-- cdktn ${CDKTN_VERSION} as cdktf, constructs ${CDKTN_CONSTRUCTS}`);
  let installed = false;
  try {
    consumer(cdktnApp, {
      ...library, ...providers, ...consumerTools, cdktf: `npm:cdktn@${CDKTN_VERSION}`, constructs: CDKTN_CONSTRUCTS,
    }, { cdktf: '$cdktf' });
    installed = true;
  } catch (e) {
    console.log(((e as { stderr?: string }).stderr ?? String(e)).slice(-3000));
  }
  check(`the tarball installs next to cdktf = npm:cdktn@${CDKTN_VERSION} and constructs ${CDKTN_CONSTRUCTS} with strict peer dependencies`, installed);
  if (installed) {
    const core = JSON.parse(readFileSync(join(cdktnApp, 'node_modules', 'cdktf', 'package.json'), 'utf8'));
    check('node_modules/cdktf is cdktn, and the one copy everything uses', core.name === 'cdktn' && core.version === CDKTN_VERSION &&
      PROVIDERS.every((p) => !run('npm', ['ls', '--all', '--parseable', 'cdktf'], cdktnApp).split('\n').some((l) => l.includes(`${p}/node_modules/cdktf`))),
    `${core.name}@${core.version}`);
    const constructs = JSON.parse(readFileSync(join(cdktnApp, 'node_modules', 'constructs', 'package.json'), 'utf8'));
    check(`constructs is ${CDKTN_CONSTRUCTS}`, constructs.version === CDKTN_CONSTRUCTS, constructs.version);
    const terrain = compileAndSynth(cdktnApp, join(cdktnApp, 'cdktf.out'));
    checkSynth(report, terrain);
    const [a, b] = [comparable(reference, cdktfApp), comparable(terrain, cdktnApp)];
    let firstDiff = 0;
    while (firstDiff < a.length && a[firstDiff] === b[firstDiff]) firstDiff++;
    check('cdktn synthesizes the same JSON as cdktf 0.21 (apart from the "//" metadata and absolute paths)', a === b,
      `first difference at character ${firstDiff}:\n     cdktf: ${a.slice(Math.max(0, firstDiff - 200), firstDiff + 200)}\n     cdktn: ${b.slice(Math.max(0, firstDiff - 200), firstDiff + 200)}`);
    const assets = (s: Synthesized) => JSON.stringify(Object.values(s.json.resource.null_resource ?? {}).map((r: any) => r.provisioner));
    check('the readiness poller asset lands at the same stack-relative path', assets(reference) === assets(terrain));
  }
} catch (e) {
  report.error(e);
} finally {
  rmSync(work, { recursive: true, force: true });
}
report.close();
