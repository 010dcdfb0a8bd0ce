// What scripts/test-package.ts and scripts/test-cdktn.ts share: packing the library as users
// get it, a fresh consumer project that installs the tarball, a strict TypeScript program using
// the whole public API, and its synthesized stack.
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

export const root = join(__dirname, '..');
export const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Counts and prints checks as `ok   name` / `FAIL name`, closing with `N passed, M failed`. */
export class Report {
  passed = 0;
  failed = 0;

  check(name: string, ok: boolean, detail = ''): boolean {
    if (ok) {
      this.passed++;
      console.log(`ok   ${name}`);
    } else {
      this.failed++;
      console.log(`FAIL ${name}${detail ? `\n     ${detail}` : ''}`);
    }
    return ok;
  }

  /** An exception that ended the run, with the output of the command that threw it. */
  error(e: unknown): void {
    this.failed++;
    console.log(`FAIL ${(e as Error).message}`);
    const err = e as { stdout?: string; stderr?: string };
    if (err.stdout) console.log(err.stdout.slice(-4000));
    if (err.stderr) console.log(err.stderr.slice(-4000));
  }

  close(): never {
    console.log(`${this.passed} passed, ${this.failed} failed`);
    process.exit(this.failed === 0 ? 0 : 1);
  }
}

export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** `npm pack` into `dir`: the tarball's path and the files it holds, sorted. */
export function pack(dir: string, options: { build?: boolean } = {}): { tarball: string; files: string[] } {
  if (!options.build && (!existsSync(join(root, 'dist', 'index.js')) || !existsSync(join(root, '.jsii')))) {
    throw new Error('dist/ or .jsii is missing: run `npm run build` first');
  }
  // with `build`, npm runs prepack (the jsii build) first, as `npm pack` and `npm publish` do;
  // otherwise it packs the build that is there. What the build prints (jsii's warnings) comes
  // before npm's JSON on stdout: the JSON is the array that starts a line.
  const out = run('npm', ['pack', '--json', '--pack-destination', dir, ...options.build ? [] : ['--ignore-scripts']], root);
  const start = out.search(/^\[/m);
  if (start < 0) throw new Error(`npm pack printed no JSON:\n${out}`);
  const [packed] = JSON.parse(out.slice(start));
  return { tarball: join(dir, packed.filename), files: packed.files.map((f: { path: string }) => f.path).sort() };
}

/** The consumer's dev tools, at the versions this repository builds with. */
export const consumerTools = {
  'typescript': pkg.devDependencies.typescript as string,
  '@types/node': pkg.devDependencies['@types/node'] as string,
};

/** A strict TypeScript program that uses the whole public API and synthesizes one stack. */
export const CONSUMER_MAIN = `
import { App, TerraformStack } from 'cdktf';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import {
  AccessDroplet, AccessDropletFleet, AccessRule, CloudInit, renderAccountTags, renderCloudInit, SshConfig, StateBackend, UnixNameStyle,
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
const text: string = renderCloudInit({ caPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca', tunnelToken: 'dG9rZW4tdG9rZW4tdG9rZW4=' });
if (text !== CloudInit.render({ caPublicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca', tunnelToken: 'dG9rZW4tdG9rZW4tdG9rZW4=' })) throw new Error('render differs');
// the people travel in the droplet's tags, not in user_data.
const tags: string[] = renderAccountTags({ users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }] });
if (tags.join() !== CloudInit.accountTags({ users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }] }).join() || tags.length === 0) throw new Error('account tags differ');
const config: string = host.sshConfig + SshConfig.render(['web-1.widgetcorp.tech']);
console.log(config.length > 0 ? 'consumer ok' : 'empty');
app.synth();
`;

/** Writes a consumer project (package.json as given, tsconfig, main.ts) at `app`. */
export function writeConsumer(app: string, packageJson: object): void {
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true, type: 'commonjs', ...packageJson }, null, 2)}\n`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2020', module: 'commonjs', strict: true, noImplicitAny: true, noUnusedLocals: true,
      exactOptionalPropertyTypes: false, outDir: 'out', rootDir: '.', types: ['node'],
    },
    include: ['main.ts'],
  }, null, 2));
  writeFileSync(join(app, 'main.ts'), CONSUMER_MAIN);
}

/** What compiling and running the consumer gave. */
export interface Synthesized {
  readonly compiled: boolean;
  readonly stdout: string;
  readonly stackDir: string;
  /** the stack's cdk.tf.json, or `{ resource: {} }` when there is none. */
  readonly json: any;
}

/** Compiles the consumer with its own tsc and runs it, synthesizing into `outdir`. */
export function compileAndSynth(app: string, outdir: string): Synthesized {
  let compiled = true;
  try {
    run(join(app, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app);
  } catch (e) {
    compiled = false;
    console.log((e as { stdout?: string }).stdout);
  }
  const stdout = compiled ? run(process.execPath, [join(app, 'out', 'main.js')], app, { ...process.env, CDKTF_OUTDIR: outdir }) : '';
  const stackDir = join(outdir, 'stacks', 'consumer');
  const file = join(stackDir, 'cdk.tf.json');
  const json = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { resource: {} };
  return { compiled, stdout, stackDir, json };
}

/** What every consumer's synth must hold: it compiled and ran, and the stack has what it should. */
export function checkSynth(report: Report, s: Synthesized): void {
  const check = report.check.bind(report);
  check('a strict TypeScript consumer compiles against the shipped types', s.compiled);
  check('the consumer runs', s.stdout.includes('consumer ok'));
  const count = (t: string) => Object.keys(s.json.resource[t] ?? {}).length;
  check('it synthesizes the droplet, the fleet and their tunnels', count('digitalocean_droplet') === 3 && count('cloudflare_zero_trust_tunnel_cloudflared') === 3);
  // user_data reads the cloud-config's text from a local, one per construct: join it back.
  const userData = Object.values(s.json.resource.digitalocean_droplet ?? {}).map((d: any) => (d.user_data as string)
    .replace(/\$\{local\.([\w-]+)\[(\d+)\]\}/g, (ref, name: string, i: string) => s.json.locals?.[name]?.[Number(i)] ?? ref));
  check('the cloud-init fragments shipped: user_data has the template, drop-in, unit and setup script',
    userData.length === 3 && userData.every((u) => u.startsWith('#cloud-config\n') && u.includes('TrustedUserCAKeys /etc/ssh/ca.pub') &&
      u.includes('ExecStart=/usr/bin/cloudflared --no-autoupdate tunnel run') && u.includes('/usr/local/lib/cdktf-access-droplet/setup')));
  const wait = Object.values(s.json.resource.null_resource ?? {}) as any[];
  const command: string = wait[0]?.provisioner?.[0]?.['local-exec']?.command ?? '';
  const script = /^node "(.+)"$/.exec(command)?.[1];
  check('the readiness poller shipped and was copied into the stack as an asset',
    script !== undefined && existsSync(join(s.stackDir, script)) && readFileSync(join(s.stackDir, script), 'utf8').includes('cfd_tunnel'));
}
