// the README is the tested truth. Every ```ts block is a whole program: it must
// type-check under cdktf-cli's own template tsconfig.json (strict, noUnusedLocals, ...) against
// this package, and synthesize. The command that puts SshConfig into ~/.ssh/config runs for real
// in real/readme-ssh-config.test.ts (cdktf-cli and terraform: a real-program test).
import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { makeTempDir, readmeBlocks, removeTempDirs, ROOT } from './real/helpers';

/** a consumer project: cdktf's template tsconfig, our node_modules, and this package by name. */
function consumer(): string {
  const dir = makeTempDir('readme');
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  const pkg = join(modules, 'cdktf-access-droplet');
  mkdirSync(pkg);
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'cdktf-access-droplet', main: 'index.js', types: 'index.d.ts' }));
  writeFileSync(join(pkg, 'index.d.ts'), `export * from ${JSON.stringify(join(ROOT, 'lib', 'index'))};\n`);
  writeFileSync(join(pkg, 'index.js'), `module.exports = require(${JSON.stringify(join(ROOT, 'lib', 'index.ts'))});\n`);
  const template = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'templates', 'typescript', 'tsconfig.json'), 'utf8'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(template, null, 2));
  return dir;
}

test('every file of this repository the README names exists', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const named = [...new Set([...readme.matchAll(/`((?:__tests__|lib|e2e|scripts|bench|cloud-init|assets)\/[\w./-]+\.(?:ts|js|sh|json|conf|service|yaml))`/g)].map((m) => m[1]))];
  expect(named.length).toBeGreaterThan(5);
  expect(named.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
});

test('every AccessDroplet and fleet of the README names its zone, so a hostname outside it fails at synth', () => {
  const constructs = readmeBlocks('ts').flatMap((b) => b.split(/\bnew (?=AccessDroplet(?:Fleet)?\()/).slice(1));
  expect(constructs.length).toBeGreaterThanOrEqual(4);
  expect(constructs.filter((c) => !/zoneName:|\.\.\.common/.test(c.slice(0, c.indexOf('});'))))).toEqual([]);
});

test('the README names every Debian package CI installs for the real-program and VM tests', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
  const install = /apt-get install -y -q --no-install-recommends \\\n([\s\S]*?)>\/dev\/null/.exec(ci);
  expect(install).not.toBeNull();
  const packages = install![1].split(/[\s\\]+/).filter((p) => /^[a-z0-9][a-z0-9.+-]+$/.test(p));
  expect(packages.length).toBeGreaterThan(10);
  expect(packages.filter((p) => !readme.includes(`\`${p}\``))).toEqual([]);
});

describe('README TypeScript blocks', () => {
  const sources = readmeBlocks('ts');
  let dir: string;
  beforeAll(() => {
    dir = consumer();
    sources.forEach((src, i) => writeFileSync(join(dir, `block${i + 1}.ts`), src));
  });
  afterAll(() => removeTempDirs());

  test('there are blocks, each a whole program (imports, app, stack, app.synth())', () => {
    expect(sources.length).toBeGreaterThanOrEqual(3);
    for (const src of sources) {
      expect(src).toMatch(/^import /);
      expect(src).toMatch(/new App\(\)/);
      expect(src).toMatch(/new TerraformStack\(/);
      expect(src.trimEnd()).toMatch(/app\.synth\(\);$/);
    }
  });

  test('compile under cdktf-cli\'s template tsconfig (strict, noUnusedLocals, noUnusedParameters)', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.', '--noEmit', '--incremental', 'false'], {
      cwd: dir, encoding: 'utf8',
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120000);

  test('synthesize with the droplet or fleet they describe', () => {
    sources.forEach((_src, i) => {
      const outdir = join(dir, `out${i + 1}`);
      execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', `block${i + 1}.ts`], {
        cwd: dir, stdio: 'pipe', env: { ...process.env, CDKTF_OUTDIR: outdir, SPACES_BUCKET: '', TF_CLOUD_ORGANIZATION: '', TF_LOCAL_STATE_PATH: '' },
      });
      const [stackName] = readdirSync(join(outdir, 'stacks'));
      const json = JSON.parse(readFileSync(join(outdir, 'stacks', stackName, 'cdk.tf.json'), 'utf8'));
      expect(Object.keys(json.provider).sort()).toEqual(expect.arrayContaining(['cloudflare', 'digitalocean']));
      expect(Object.keys(json.resource.digitalocean_droplet ?? {}).length).toBeGreaterThanOrEqual(1);
      expect(json.terraform.backend.local.path).toBe(join(dir, `terraform.${stackName}.tfstate`));
    });
  }, 180000);
});
