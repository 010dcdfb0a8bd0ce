// The package as users get it: `npm pack` ships exactly what they need, and the tarball,
// installed into a fresh project with only its peer dependencies, compiles a strict
// TypeScript consumer and synthesizes it. Run after `npm run build` (npm run test:package).
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, posix } from 'path';

const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let passed = 0;
let failed = 0;

function check(name: string, ok: boolean, detail = '') {
  if (ok) {
    passed++;
    console.log(`ok   ${name}`);
  } else {
    failed++;
    console.log(`FAIL ${name}${detail ? `\n     ${detail}` : ''}`);
  }
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

const work = mkdtempSync(join(tmpdir(), 'package-test-'));
try {
  if (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, '.jsii'))) {
    throw new Error('dist/ or .jsii is missing: run `npm run build` first');
  }

  // 1. what the tarball holds.
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root));
  const files: string[] = packed.files.map((f: { path: string }) => f.path).sort();
  const libModules = readdirSync(join(root, 'lib')).filter((f) => f.endsWith('.ts')).map((f) => f.replace(/\.ts$/, ''));
  const expected = [
    '.jsii', 'API.md', 'CHANGELOG.md', 'LICENSE', 'README.md', 'package.json',
    'assets/wait-for-tunnel.js',
    ...readdirSync(join(root, 'cloud-init')).map((f) => `cloud-init/${f}`),
    ...libModules.flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`, `lib/${m}.ts`]),
    ...readdirSync(join(root, 'lib', 'internal')).filter((f) => f.endsWith('.ts')).flatMap((f) => {
      const m = f.replace(/\.ts$/, '');
      return [`dist/internal/${m}.js`, `dist/internal/${m}.d.ts`, `lib/internal/${m}.ts`];
    }),
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
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'commonjs' }, null, 2));
  const peers = Object.keys(pkg.peerDependencies).map((name) => `${name}@${pkg.devDependencies[name]}`);
  const tools = [`typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies['@types/node']}`];
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-exact', join(work, packed.filename), ...peers, ...tools], app);
  const installed = JSON.parse(readFileSync(join(app, 'node_modules', 'cdktf-access-droplet', 'package.json'), 'utf8'));
  check('the tarball installs with its peer dependencies', installed.version === pkg.version);
  check('no dev-only package came along', !existsSync(join(app, 'node_modules', 'jest')) && !existsSync(join(app, 'node_modules', 'jsii')));

  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2020', module: 'commonjs', strict: true, noImplicitAny: true, noUnusedLocals: true,
      exactOptionalPropertyTypes: false, outDir: 'out', rootDir: '.', types: ['node'],
    },
    include: ['main.ts'],
  }, null, 2));
  writeFileSync(join(app, 'main.ts'), `
import { App, TerraformStack } from 'cdktf';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import {
  AccessDroplet, AccessDropletFleet, AccessRule, CloudInit, renderCloudInit, SshConfig, StateBackend, UnixNameStyle,
} from 'cdktf-access-droplet';

const app = new App();
const stack = new TerraformStack(app, 'consumer');
StateBackend.fromEnvironment(stack, {});
new CloudflareProvider(stack, 'cloudflare', {});
new DigitaloceanProvider(stack, 'digitalocean', {});
new NullProvider(stack, 'null', {});
const host = new AccessDroplet(stack, 'Bastion', {
  accountId: 'acc123', zoneId: 'zone123', hostname: 'bastion.widgetcorp.tech',
  users: ['srhea@cloudflare.com', { email: 'Jane.Doe@example.com', sudo: true }],
  unixNameStyle: UnixNameStyle.NORMALIZED,
  accessRequire: [AccessRule.emailDomain('example.com')],
  waitForReady: true,
});
new AccessDropletFleet(stack, 'Fleet', {
  accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web',
  users: ['srhea@cloudflare.com'], count: 2, hostnamePattern: 'web-{index}.widgetcorp.tech',
});
const text: string = renderCloudInit({ caPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca', tunnelToken: 'dG9rZW4tdG9rZW4tdG9rZW4=', users: ['srhea@cloudflare.com'] });
if (text !== CloudInit.render({ caPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca', tunnelToken: 'dG9rZW4tdG9rZW4tdG9rZW4=', users: ['srhea@cloudflare.com'] })) throw new Error('render differs');
const config: string = host.sshConfig + SshConfig.render(['web-1.widgetcorp.tech']);
console.log(config.length > 0 ? 'consumer ok' : 'empty');
app.synth();
`);
  let compiled = true;
  try {
    run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app);
  } catch (e) {
    compiled = false;
    console.log((e as { stdout?: string }).stdout);
  }
  check('a strict TypeScript consumer compiles against the shipped types', compiled);

  // 3. synthesize it.
  const outdir = join(work, 'cdktf.out');
  const stdout = compiled ? run(process.execPath, [join(app, 'out', 'main.js')], app, { ...process.env, CDKTF_OUTDIR: outdir }) : '';
  check('the consumer runs', stdout.includes('consumer ok'));
  const stackDir = join(outdir, 'stacks', 'consumer');
  const synth = existsSync(join(stackDir, 'cdk.tf.json')) ? JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) : { resource: {} };
  const count = (t: string) => Object.keys(synth.resource[t] ?? {}).length;
  check('it synthesizes the droplet, the fleet and their tunnels', count('digitalocean_droplet') === 3 && count('cloudflare_zero_trust_tunnel_cloudflared') === 3);
  const userData = Object.values(synth.resource.digitalocean_droplet ?? {}).map((d: any) => d.user_data as string);
  check('the cloud-init fragments shipped: user_data has the template, drop-in, unit and setup script',
    userData.length === 3 && userData.every((u) => u.startsWith('#cloud-config\n') && u.includes('TrustedUserCAKeys /etc/ssh/ca.pub') &&
      u.includes('ExecStart=/usr/bin/cloudflared --no-autoupdate tunnel run') && u.includes('/usr/local/lib/cdktf-access-droplet/setup')));
  const wait = Object.values(synth.resource.null_resource ?? {}) as any[];
  const command: string = wait[0]?.provisioner?.[0]?.['local-exec']?.command ?? '';
  const script = /^node "(.+)"$/.exec(command)?.[1];
  check('the readiness poller shipped and was copied into the stack as an asset',
    script !== undefined && existsSync(join(stackDir, script)) && readFileSync(join(stackDir, script), 'utf8').includes('cfd_tunnel'));
} catch (e) {
  failed++;
  console.log(`FAIL ${(e as Error).message}`);
  const err = e as { stdout?: string; stderr?: string };
  if (err.stderr) console.log(err.stderr.slice(-4000));
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
