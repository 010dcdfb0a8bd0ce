// shared helpers for the tests that check the rendered cloud-config with the real programs a
// droplet runs (cloud-init, sshd, systemd), on this Debian machine instead of in a VM.
import { spawn, spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { accessSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { parse } from 'yaml';
import { CloudInitOptions, renderCloudInit } from '../../lib/cloud-init';

// absolute paths: a developer's PATH may put pyenv or Homebrew shims first.
export const TOOLS = {
  cloudInit: '/usr/bin/cloud-init',
  sshd: '/usr/sbin/sshd',
  ssh: '/usr/bin/ssh',
  sshKeygen: '/usr/bin/ssh-keygen',
  systemdAnalyze: '/usr/bin/systemd-analyze',
  useradd: '/usr/sbin/useradd',
  userdel: '/usr/sbin/userdel',
  groupdel: '/usr/sbin/groupdel',
  chpasswd: '/usr/sbin/chpasswd',
  getent: '/usr/bin/getent',
  passwd: '/usr/bin/passwd',
  id: '/usr/bin/id',
  visudo: '/usr/sbin/visudo',
  sh: '/bin/sh',
} as const;

/** Debian's pristine sshd_config as shipped by openssh-server (/etc/ssh/sshd_config may be edited). */
export const STOCK_SSHD_CONFIG = existsSync('/usr/share/openssh/sshd_config')
  ? '/usr/share/openssh/sshd_config'
  : '/etc/ssh/sshd_config';

// ---------------------------------------------------------------------------------------------
// running programs

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 20000,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and throws with the program's output unless it exits 0. */
export function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/** Like {@link run}, without blocking, so independent checks can run side by side. */
export function runAsync(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    child.stdin.end(opts.input ?? '');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The interpreter cloud-init itself runs with (its module is not on pyenv's or a venv's path). */
export function cloudInitPython(): string {
  const shebang = readFileSync(TOOLS.cloudInit, 'utf8').split('\n', 1)[0];
  const m = /^#!\s*(\S+)/.exec(shebang);
  if (!m) throw new Error(`${TOOLS.cloudInit} has no #! line: ${shebang}`);
  return m[1];
}

// ---------------------------------------------------------------------------------------------
// what a test needs, and skipping (locally) or failing (under CI) without it

export interface Requirement {
  /** what is missing, as shown to the developer. */
  readonly what: string;
  /** the Debian package that provides it, or "" for "run as root". */
  readonly aptPackage: string;
  readonly present: () => boolean;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const tool = (path: string, aptPackage: string): Requirement => ({
  what: path,
  aptPackage,
  present: () => executable(path),
});

export const NEEDS = {
  root: { what: 'root', aptPackage: '', present: () => process.getuid?.() === 0 } as Requirement,
  cloudInit: tool(TOOLS.cloudInit, 'cloud-init'),
  // the users and write_files modules are driven through cloud-init's own Python code.
  cloudInitModules: {
    what: 'the cloudinit Python package',
    aptPackage: 'cloud-init',
    present: () => executable(TOOLS.cloudInit) && run(cloudInitPython(), ['-c', 'import cloudinit.config.cc_users_groups']).status === 0,
  } as Requirement,
  sshd: tool(TOOLS.sshd, 'openssh-server'),
  ssh: tool(TOOLS.ssh, 'openssh-client'),
  sshKeygen: tool(TOOLS.sshKeygen, 'openssh-client'),
  systemdAnalyze: tool(TOOLS.systemdAnalyze, 'systemd'),
  useradd: tool(TOOLS.useradd, 'passwd'),
  visudo: tool(TOOLS.visudo, 'sudo'),
};

/**
 * `describe` when every requirement is met. Otherwise a developer's run skips the block and says
 * why, while a CI run (CI=true) fails: CI installs these tools, so a missing one is a broken
 * pipeline, not a reason to go green.
 */
export function describeReal(name: string, needs: readonly Requirement[], fn: () => void): void {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const packages = [...new Set(missing.map((m) => m.aptPackage).filter((p) => p))];
  const reason =
    `needs ${missing.map((m) => m.what).join(', ')}` +
    (packages.length ? ` (apt-get install -y ${packages.join(' ')})` : '') +
    (missing.includes(NEEDS.root) ? ' (run the tests as root)' : '');
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('has the programs it checks against', () => {
        throw new Error(`${name} ${reason}; CI must provide them (.ci/run)`);
      });
    });
    return;
  }
  console.warn(`skipping "${name}": ${reason}`);
  describe.skip(name, fn);
}

// ---------------------------------------------------------------------------------------------
// temporary directories

const tempDirs: string[] = [];

/**
 * A new directory, removed by {@link removeTempDirs}. With `sshdSafe`, it lives under /run and
 * is 0755: sshd's StrictModes refuses an AuthorizedPrincipalsFile below a group- or
 * world-writable directory such as /tmp, and opens it as the logging-in user.
 */
export function makeTempDir(prefix: string, opts: { sshdSafe?: boolean } = {}): string {
  const base = opts.sshdSafe ? '/run' : tmpdir();
  const dir = mkdtempSync(join(base, `cdktf-access-droplet-${prefix}-`));
  if (opts.sshdSafe) chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

/** Removes the directories {@link makeTempDir} made; KEEP_TEMP_DIRS=1 keeps them to debug a failure. */
export function removeTempDirs(): void {
  if (process.env.KEEP_TEMP_DIRS === '1') {
    console.warn(`KEEP_TEMP_DIRS=1: kept ${tempDirs.splice(0).join(', ')}`);
    return;
  }
  while (tempDirs.length) rmSync(tempDirs.pop()!, { recursive: true, force: true });
}

/** Writes `content` at `path`, creating parent directories, with `mode`. */
export function writeFile(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, content, { mode });
  chmodSync(path, mode); // the umask must not change it.
}

// ---------------------------------------------------------------------------------------------
// test values

/** A short random suffix that keeps test accounts unique per run and per test file. */
export function uniqueTag(): string {
  return randomBytes(3).toString('hex');
}

/** A stand-in tunnel token shaped like Cloudflare's: base64 of {a: account, t: tunnel, s: secret}. */
export function fakeTunnelToken(): string {
  const secret = randomBytes(32).toString('base64');
  return Buffer.from(JSON.stringify({ a: 'f0e1d2c3b4a5968778695a4b3c2d1e0f', t: '6ff42ae2-765d-4adf-8112-31c55c1551ef', s: secret })).toString('base64');
}

export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
  /** the public key's one line, without the newline. */
  readonly publicKeyLine: string;
}

export function newKeyPair(dir: string, name: string): KeyPair {
  const privateKey = join(dir, name);
  runOk(TOOLS.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKey]);
  const publicKey = `${privateKey}.pub`;
  return { privateKey, publicKey, publicKeyLine: readFileSync(publicKey, 'utf8').trim() };
}

/**
 * Signs a copy of `key`'s public key with `ca` as a user certificate; returns the certificate's
 * path. `validity` is ssh-keygen's -V, e.g. "-5m:+5m" or "20200101:20200102".
 */
export function signUserCert(ca: KeyPair, key: KeyPair, name: string, principals: string[], validity = '-5m:+5m'): string {
  const pub = join(dirname(key.publicKey), `${name}.pub`);
  copyFileSync(key.publicKey, pub);
  runOk(TOOLS.sshKeygen, ['-q', '-s', ca.privateKey, '-I', name, '-n', principals.join(','), '-V', validity, pub]);
  return join(dirname(key.publicKey), `${name}-cert.pub`);
}

/** Options with literal values for everything, plus `overrides`. */
export function options(ca: KeyPair, tunnelToken: string, overrides: Partial<CloudInitOptions> = {}): CloudInitOptions {
  return { caPublicKey: ca.publicKeyLine, tunnelToken, users: ['srhea@cloudflare.com'], ...overrides };
}

export { renderCloudInit };

// ---------------------------------------------------------------------------------------------
// the rendered cloud-config

export interface WriteFileEntry {
  readonly path: string;
  readonly owner?: string;
  readonly permissions?: string;
  readonly content?: string;
  readonly [key: string]: unknown;
}

export interface UserEntry {
  readonly name: string;
  readonly gecos?: string;
  readonly shell?: string;
  readonly lock_passwd?: boolean;
  readonly groups?: string;
  readonly sudo?: string;
  readonly [key: string]: unknown;
}

export interface CloudConfig {
  readonly users: UserEntry[];
  readonly write_files: WriteFileEntry[];
  readonly runcmd: unknown[];
  readonly ssh_pwauth: boolean;
  readonly [key: string]: unknown;
}

/** Parses user data the way cloud-init does: `#cloud-config` first, then one YAML mapping. */
export function parseCloudConfig(text: string): CloudConfig {
  if (!text.startsWith('#cloud-config\n')) throw new Error(`user data does not start with "#cloud-config": ${text.slice(0, 40)}`);
  const doc: unknown = parse(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('user data is not a YAML mapping');
  return doc as CloudConfig;
}

/** The one write_files entry for `path`. */
export function writeFileEntry(cfg: CloudConfig, path: string): WriteFileEntry {
  const found = cfg.write_files.filter((f) => f.path === path);
  if (found.length !== 1) {
    throw new Error(`expected one write_files entry for ${path}, found ${found.length}: ${cfg.write_files.map((f) => f.path).join(', ')}`);
  }
  return found[0];
}

/** Runs `cloud-init schema -c` on `text`. */
export function cloudInitSchema(text: string, dir: string, name = 'user-data'): Promise<RunResult> {
  const file = join(dir, name);
  writeFileSync(file, text);
  return runAsync(TOOLS.cloudInit, ['schema', '-c', file]);
}

// `cloud-init schema -c FILE` for many files in one interpreter: the subcommand's own parser and
// handler, called once per file (one CLI run costs ~0.4 s, most of it importing cloud-init).
const SCHEMA_MANY = `
import contextlib, io, json, sys
from cloudinit.config.schema import get_parser, handle_schema_args
results = []
for path in sys.argv[1:]:
    out, err, status = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            handle_schema_args('schema', get_parser().parse_args(['-c', path]))
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
    valid = status == 0 and err.getvalue() == '' and out.getvalue() == 'Valid cloud-config: %s\\n' % path
    results.append({'path': path, 'valid': valid, 'output': out.getvalue() + err.getvalue()})
print(json.dumps(results))
`;

export interface SchemaResult {
  readonly path: string;
  readonly valid: boolean;
  readonly output: string;
}

/** Validates each text as `cloud-init schema -c` would, in one process. */
export function cloudInitSchemaMany(texts: string[], dir: string): SchemaResult[] {
  const script = join(dir, 'schema-many.py');
  writeFileSync(script, SCHEMA_MANY);
  const files = texts.map((t, i) => {
    const f = join(dir, `user-data-${i}`);
    writeFileSync(f, t);
    return f;
  });
  return JSON.parse(runOk(cloudInitPython(), [script, ...files], { timeoutMs: 60000 }).stdout) as SchemaResult[];
}

/** Every top-level key the installed cloud-init's schema defines (one per cloud-config module setting). */
export function cloudInitTopLevelKeys(): Set<string> {
  const script = [
    'import json',
    'from cloudinit.config.schema import get_schema',
    's = get_schema()',
    'keys = set()',
    "for item in s['allOf']:",
    "    keys |= set(s['$defs'][item['$ref'].split('/')[-1]].get('properties', {}))",
    'print(json.dumps(sorted(keys)))',
  ].join('\n');
  return new Set(JSON.parse(runOk(cloudInitPython(), ['-c', script]).stdout) as string[]);
}

// ---------------------------------------------------------------------------------------------
// cloud-init's own modules, run on this machine

// cloud-init's users_groups module, as at first boot, with one change: sudo rules go to a file
// of the test's (checked with visudo) instead of /etc/sudoers.d, and /etc/sudoers is left alone.
const USERS_MODULE = `
import sys, types, logging, yaml
from cloudinit import distros, helpers
from cloudinit.config import cc_users_groups
cfg = yaml.safe_load(open(sys.argv[1]))
distro = distros.fetch('debian')('debian', {}, helpers.Paths({}))
distro.ci_sudoers_fn = sys.argv[2]
distro.ensure_sudo_dir = lambda path, sudo_base='/etc/sudoers': None
cloud = types.SimpleNamespace(distro=distro, get_public_ssh_keys=lambda: [])
cc_users_groups.handle('users_groups', cfg, cloud, logging.getLogger('users_groups'), [])
`;

// cloud-init's write_files writer, with every path moved under a root directory of the test's.
const WRITE_FILES_MODULE = `
import os, sys, yaml
from cloudinit.config import cc_write_files
cfg = yaml.safe_load(open(sys.argv[1]))
root = sys.argv[2]
files = [dict(f, path=os.path.join(root, f['path'].lstrip('/'))) for f in cfg['write_files']]
cc_write_files.write_files('write_files', files, 'root:root')
`;

const createdAccounts: CreatedAccounts[] = [];

export interface CreatedAccounts {
  readonly users: string[];
  readonly groups: string[];
  readonly sudoersFile: string;
}

function exists(db: 'passwd' | 'group', name: string): boolean {
  return run(TOOLS.getent, [db, name]).status === 0;
}

/**
 * Creates the cloud-config's users with cloud-init's users_groups module. Refuses to touch an
 * account or group that exists already: only what this call creates is removed afterwards.
 */
export function createUsersWithCloudInit(text: string, dir: string): CreatedAccounts {
  const cfg = parseCloudConfig(text);
  const users = cfg.users.map((u) => u.name);
  const groupsBefore = new Set(cfg.users.flatMap((u) => (u.groups ? u.groups.split(',') : [])).filter((g) => exists('group', g)));
  for (const u of users) {
    if (exists('passwd', u)) throw new Error(`account ${u} exists already; the test will not reuse or delete it`);
  }
  const userData = join(dir, 'users-user-data');
  const script = join(dir, 'users-module.py');
  const sudoersFile = join(dir, '90-cloud-init-users');
  writeFileSync(userData, text);
  writeFileSync(script, USERS_MODULE);
  const created: CreatedAccounts = {
    users,
    groups: cfg.users.flatMap((u) => (u.groups ? u.groups.split(',') : [])).filter((g) => !groupsBefore.has(g)),
    sudoersFile,
  };
  createdAccounts.push(created);
  runOk(cloudInitPython(), [script, userData, sudoersFile]);
  return created;
}

/** Removes the accounts (with their homes) and groups that {@link createUsersWithCloudInit} made. */
export async function removeCreatedAccounts(): Promise<void> {
  const errors: string[] = [];
  while (createdAccounts.length) {
    const c = createdAccounts.pop()!;
    for (const u of c.users) {
      if (!exists('passwd', u)) continue;
      // an ssh session's processes may still be exiting: retry before forcing.
      let r = run(TOOLS.userdel, ['-r', u]);
      for (let i = 0; i < 10 && exists('passwd', u); i++) {
        await sleep(100);
        r = run(TOOLS.userdel, ['-r', ...(i === 9 ? ['-f'] : []), u]);
      }
      if (exists('passwd', u)) errors.push(`userdel -r ${u}: ${r.stderr}`);
    }
    for (const g of [...new Set(c.groups)]) {
      if (exists('group', g)) {
        const r = run(TOOLS.groupdel, [g]);
        if (r.status !== 0) errors.push(`groupdel ${g}: ${r.stderr}`);
      }
    }
  }
  if (errors.length) throw new Error(`cleanup failed:\n${errors.join('\n')}`);
}

/** Writes the cloud-config's write_files with cloud-init's own writer, below `root`. */
export function writeFilesWithCloudInit(text: string, dir: string, root: string): void {
  const userData = join(dir, 'write-files-user-data');
  const script = join(dir, 'write-files-module.py');
  writeFileSync(userData, text);
  writeFileSync(script, WRITE_FILES_MODULE);
  runOk(cloudInitPython(), [script, userData, root]);
}

// ---------------------------------------------------------------------------------------------
// sshd

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningSshd {
  readonly port: number;
  readonly log: string;
  /** what sshd logged since the last call. */
  newLog(): string;
  stop(): Promise<void>;
}

const runningSshds: RunningSshd[] = [];

/**
 * Starts `/usr/sbin/sshd -D` with `config` on 127.0.0.1 and a free port, logging to a file, and
 * waits until it listens. `extra` are more `-o` options (they take precedence over the file).
 */
export async function startSshd(config: string, hostKey: string, dir: string, extra: string[] = []): Promise<RunningSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const log = join(dir, `sshd-${port}.log`);
  writeFileSync(log, '');
  const args = ['-D', '-f', config, '-h', hostKey, '-p', String(port), '-E', log,
    // PidFile none: never overwrite the machine's own /run/sshd.pid.
    '-o', 'ListenAddress=127.0.0.1', '-o', 'PidFile=none', '-o', 'LogLevel=VERBOSE', ...extra.flatMap((o) => ['-o', o])];
  const child = spawn(TOOLS.sshd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  let offset = 0;
  const sshd: RunningSshd = {
    port,
    log,
    newLog() {
      const all = readFileSync(log, 'utf8');
      const fresh = all.slice(offset);
      offset = all.length;
      return fresh;
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i++) await sleep(20);
        if (!exited) child.kill('SIGKILL');
      }
    },
  };
  runningSshds.push(sshd);
  const listening = `Server listening on 127.0.0.1 port ${port}.`;
  for (let i = 0; i < 500; i++) {
    if (readFileSync(log, 'utf8').includes(listening)) return sshd;
    if (exited) break;
    await sleep(20);
  }
  await sshd.stop();
  throw new Error(`sshd did not start on port ${port}\nstderr: ${stderr}\nlog: ${readFileSync(log, 'utf8')}`);
}

export async function stopAllSshds(): Promise<void> {
  while (runningSshds.length) await runningSshds.pop()!.stop();
}

/** `sshd -T`: the effective configuration, keyword (lower case) → values. */
export function sshdEffectiveConfig(config: string, hostKey: string): Map<string, string[]> {
  const out = runOk(TOOLS.sshd, ['-T', '-f', config, '-h', hostKey]).stdout;
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

/** ssh options that make a login depend on nothing but the arguments given. */
export function sshBaseArgs(port: number): string[] {
  return ['-F', '/dev/null', '-p', String(port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'IdentityAgent=none', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'];
}

/** Logs in with a key and certificate in batch mode and runs `id -un`. */
export function sshWithCert(port: number, user: string, key: KeyPair, cert: string | undefined): RunResult {
  // certificates are named after their case, never KEY-cert.pub, so ssh loads none by itself.
  const args = [...sshBaseArgs(port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key.privateKey];
  if (cert) args.push('-o', `CertificateFile=${cert}`);
  return run(TOOLS.ssh, [...args, `${user}@127.0.0.1`, 'id', '-un']);
}

/**
 * Tries a password login with `password` typed by an askpass program; returns the result and
 * whether ssh asked for the password at all.
 */
export function sshWithPassword(port: number, user: string, password: string, dir: string): RunResult & { asked: boolean } {
  const marker = join(dir, `askpass-asked-${randomBytes(4).toString('hex')}`);
  const askpass = join(dir, `askpass-${randomBytes(4).toString('hex')}`);
  writeFile(askpass, `#!/bin/sh\ntouch '${marker}'\nprintf '%s\\n' '${password}'\n`, 0o700);
  const args = [...sshBaseArgs(port), '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive',
    '-o', 'NumberOfPasswordPrompts=1', `${user}@127.0.0.1`, 'id', '-un'];
  // SSH_ASKPASS_REQUIRE=force: ssh reads the password from the program even without a terminal.
  const r = run(TOOLS.ssh, args, { env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } });
  return { ...r, asked: existsSync(marker) };
}
