// The package as users get it: `npm pack` ships exactly what they need, and the tarball,
// installed into a fresh project with only its peer dependencies, compiles a strict
// TypeScript consumer and synthesizes it. It packs as `npm pack` does, prepack (the build) included.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, posix } from 'path';
import { checkSynth, compileAndSynth, consumerTools, pack, pkg, Report, root, run, writeConsumer } from './consumer';

const report = new Report();
const check = report.check.bind(report);

const work = mkdtempSync(join(tmpdir(), 'package-test-'));
try {
  // 1. what the tarball holds: `npm pack` on a tree without a build builds it first (prepack).
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  rmSync(join(root, '.jsii'), { force: true });
  const { tarball, files } = pack(work, { build: true });
  check('npm pack without a build first builds (prepack): dist/ and .jsii are in the tarball',
    files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('.jsii'));
  // every module under lib/, in its folders (lib/plan, lib/build, lib/internal, ...).
  const libModules = (readdirSync(join(root, 'lib'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
  const expected = [
    '.jsii', 'API.md', 'CHANGELOG.md', 'LICENSE', 'README.md', 'package.json',
    'assets/wait-for-tunnel.js',
    ...readdirSync(join(root, 'cloud-init')).map((f) => `cloud-init/${f}`),
    ...libModules.flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`, `lib/${m}.ts`]),
  ].sort();
  check('npm pack ships exactly the compiled API, cloud-init fragments, poller, docs and licence',
    JSON.stringify(files) === JSON.stringify(expected),
    `unexpected: ${files.filter((f) => !expected.includes(f)).join(', ') || '-'}; missing: ${expected.filter((f) => !files.includes(f)).join(', ') || '-'}`);
  // lib/*.ts ships because the compiled files' source maps name it: stack traces then point at
  // files that exist.
  check('the tarball holds no TypeScript outside lib/, no tests and no secrets',
    !files.some((f) => /(__tests__|^e2e\/|^bench\/|\.env|tfstate)/.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('lib/'))));
  const mapped = files.filter((f) => f.endsWith('.js') && f.startsWith('dist/')).flatMap((f) => {
    const m = /sourceMappingURL=data:application\/json;base64,(\S+)\s*$/.exec(readFileSync(join(root, f), 'utf8'));
    const sources: string[] = m ? JSON.parse(Buffer.from(m[1], 'base64').toString('utf8')).sources : ['(no source map)'];
    return sources.map((s) => ({ from: f, to: posix.normalize(posix.join(posix.dirname(f), s)) }));
  });
  const dangling = mapped.filter((m) => !files.includes(m.to));
  check('every source map names a file the tarball ships', mapped.length > 0 && dangling.length === 0,
    dangling.map((m) => `${m.from} -> ${m.to}`).join(', '));

  // 2. a fresh project with only the peer dependencies.
  const app = join(work, 'consumer');
  writeConsumer(app, {});
  const peers = Object.keys(pkg.peerDependencies).map((name) => `${name}@${pkg.devDependencies[name]}`);
  const tools = Object.entries(consumerTools).map(([name, version]) => `${name}@${version}`);
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-exact', tarball, ...peers, ...tools], app);
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'cdktf-access-droplet', 'package.json'), 'utf8'));
  check('the tarball installs with its peer dependencies', installed.version === pkg.version);
  check('no dev-only package came along', !existsSync(join(app, 'node_modules', 'jest')) && !existsSync(join(app, 'node_modules', 'jsii')));

  // 3. compile, run and synthesize it.
  const synthesized = compileAndSynth(app, join(work, 'cdktf.out'));
  checkSynth(report, synthesized);
} catch (e) {
  report.error(e);
} finally {
  rmSync(work, { recursive: true, force: true });
}
report.close();
