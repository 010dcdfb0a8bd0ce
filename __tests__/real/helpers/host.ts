// a droplet's first boot on this machine, as far as accounts and sshd go, without touching the
// machine: a process tree in private mount and PID namespaces whose /etc is a tmpfs copy of this
// machine's, whose /home is an empty tmpfs and whose /var/lib, /var/log and /usr/local are
// overlays on tmpfs. Inside, cloud-init's own write_files module writes the rendered user_data at
// the real paths, the accounts agent it installed reads the account tags from a metadata service
// of the test's (127.0.0.1; the network namespace is shared), and sshd runs on the files both
// wrote. The machine's accounts and processes are never touched: what runs inside sees, and can
// kill, the namespace's processes only, and everything it writes is gone with the namespace.
import { ChildProcess, spawn } from 'child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';
import { AddressInfo } from 'net';
import { join } from 'path';
import { parseCloudConfig } from './cloud-config';
import { writeFile } from './files';
import { RunResult, STOCK_SSHD_CONFIG, TOOLS, cloudInitPython, run, runAsync, sleep } from './process';
import { Requirement, NEEDS } from './requirements';
import { freePort } from './sshd';

export const PYTHON = '/usr/bin/python3';
export const NSENTER = '/usr/bin/nsenter';
/** where the cloud-config installs the accounts agent. */
export const INSTALLED_AGENT = '/usr/local/lib/cdktf-access-droplet/accounts';
/** the agent's state file, which lists the accounts and groups it created. */
export const AGENT_STATE = '/var/lib/cdktf-access-droplet/accounts.json';

const file = (path: string, aptPackage: string): Requirement => ({ what: path, aptPackage, present: () => existsSync(path) });

/** what {@link startHostNamespace} and a run of the accounts agent with sshd need. */
export const NEEDS_HOST: Requirement[] = [
  NEEDS.root, NEEDS.unshare, file(NSENTER, 'util-linux'), file(PYTHON, 'python3'), NEEDS.useradd, file('/usr/sbin/usermod', 'passwd'),
  file('/usr/sbin/groupadd', 'passwd'), NEEDS.visudo, NEEDS.sudo, NEEDS.sshd, NEEDS.ssh, NEEDS.sshKeygen,
];

/** a process tree of the test's in its own mount and PID namespaces. */
export interface HostNamespace {
  /** the namespace's init, as this machine sees it. */
  readonly pid: number;
  /** runs a program inside (synchronously: never for anything that needs a server of the test's). */
  run(cmd: string, args: string[], input?: string): RunResult;
  runAsync(cmd: string, args: string[], timeoutMs?: number): Promise<RunResult>;
  spawn(cmd: string, args: string[]): ChildProcess;
  /** `path` as this machine reaches the namespace's file (through /proc/<pid>/root). */
  path(path: string): string;
  /** a file as the namespace sees it, or undefined. */
  read(path: string): string | undefined;
  list(path: string): string[];
  stop(): void;
}

// inside the namespaces: /etc a tmpfs copy, /home tmpfs, /var/lib, /var/log and /usr/local
// overlays, sudo's timestamps on tmpfs; no principals, sudo rule or agent state of a droplet, and
// Debian's stock sshd_config with no drop-in; then `prepare`, then an init that reaps orphans (the
// agent must never see zombies).
const SETUP = (work: string, prepare: string) => `
set -e
mount -t tmpfs -o mode=0755 tmpfs ${work}/etc
cp -a /etc/. ${work}/etc/
mount --bind ${work}/etc /etc
mount -t tmpfs -o mode=0755 tmpfs /home
mount -t tmpfs -o mode=0755 tmpfs ${work}/over
for d in lib log local; do mkdir ${work}/over/$d ${work}/over/$d-work; done
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=${work}/over/lib,workdir=${work}/over/lib-work /var/lib
mount -t overlay overlay -o lowerdir=/var/log,upperdir=${work}/over/log,workdir=${work}/over/log-work /var/log
mount -t overlay overlay -o lowerdir=/usr/local,upperdir=${work}/over/local,workdir=${work}/over/local-work /usr/local
mkdir -p /run/sudo /run/sshd && mount -t tmpfs -o mode=0711 tmpfs /run/sudo
rm -rf /etc/ssh/auth_principals /etc/sudoers.d/90-cdktf-access /var/lib/cdktf-access-droplet /var/lib/cloud /usr/local/lib/cdktf-access-droplet
rm -f /etc/ssh/sshd_config.d/*
cp ${STOCK_SSHD_CONFIG} /etc/ssh/sshd_config
${prepare}
echo ready
exec ${PYTHON} -c '
import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)
'
`;

const namespaces: HostNamespace[] = [];

/** Starts a {@link HostNamespace}; `prepare` is shell run inside once it is set up. */
export async function startHostNamespace(dir: string, prepare = ''): Promise<HostNamespace> {
  const work = join(dir, `ns-${namespaces.length}`);
  for (const d of ['etc', 'over']) writeFile(join(work, d, '.keep'), '');
  const child = spawn(TOOLS.unshare, ['--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--mount-proc',
    '/bin/bash', '-c', SETUP(work, prepare)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  for (let i = 0; i < 400 && !out.includes('ready\n') && child.exitCode === null; i++) await sleep(50);
  let children = '';
  try {
    children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
  } catch {
    // the namespace is gone already: reported below.
  }
  if (!out.includes('ready\n') || !/^\d+$/.test(children)) {
    child.kill('SIGKILL');
    throw new Error(`the namespace did not start: ${out}`);
  }
  const pid = Number(children);
  const enter = (cmd: string, args: string[]) => ['-t', String(pid), '-m', '-p', '--', cmd, ...args];
  const ns: HostNamespace = {
    pid,
    run: (cmd, args, input) => run(NSENTER, enter(cmd, args), { input, timeoutMs: 60000 }),
    runAsync: (cmd, args, timeoutMs = 60000) => runAsync(NSENTER, enter(cmd, args), { timeoutMs }),
    spawn: (cmd, args) => spawn(NSENTER, enter(cmd, args), { stdio: ['ignore', 'pipe', 'pipe'] }),
    path: (path) => `/proc/${pid}/root${path}`,
    read: (path) => {
      try {
        return readFileSync(`/proc/${pid}/root${path}`, 'utf8');
      } catch {
        return undefined;
      }
    },
    list: (path) => {
      try {
        return readdirSync(`/proc/${pid}/root${path}`).sort();
      } catch {
        return [];
      }
    },
    // unshare ignores SIGTERM while it waits; SIGKILL takes the namespace's init (and so every
    // process inside, sshd and sessions included) with it.
    stop: () => child.kill('SIGKILL'),
  };
  namespaces.push(ns);
  return ns;
}

/** Stops every namespace {@link startHostNamespace} started. */
export function stopHostNamespaces(): void {
  while (namespaces.length) namespaces.pop()!.stop();
}

/** serves `tags` at /metadata/v1/tags/ as DigitalOcean's metadata service does (one a line). */
export class TagServer {
  tags: string[] = [];
  status = 200;
  hang = false;
  requests = 0;
  private readonly server: Server;
  private readonly open = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      this.requests++;
      if (this.hang) {
        this.open.add(res);
        return;
      }
      if (req.url !== '/metadata/v1/tags/') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(this.status, { 'Content-Type': 'text/plain' }).end(this.status === 200 ? this.tags.join('\n') : 'error');
    });
  }

  /** starts listening on 127.0.0.1; returns the tags URL to give the agent as --metadata-url. */
  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/metadata/v1/tags/`;
  }

  release(): void {
    for (const res of this.open) res.destroy();
    this.open.clear();
  }

  close(): Promise<void> {
    this.release();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** polls `cond` every 50 ms for up to `ms`; its last answer. */
export async function waitFor(cond: () => boolean, ms = 10000): Promise<boolean> {
  for (let i = 0; i < ms / 50; i++) {
    if (cond()) return true;
    await sleep(50);
  }
  return cond();
}

// cloud-init's write_files writer, at the paths as written (inside the namespace).
const WRITE_FILES = `
import sys, yaml
from cloudinit.config import cc_write_files
cfg = yaml.safe_load(open(sys.argv[1]))
cc_write_files.write_files('write_files', cfg['write_files'], 'root:root')
`;

/**
 * What cloud-init's write_files does with a #cloud-config at first boot, at its real paths inside
 * the namespace (each must lie below /etc or /usr/local, which the namespace keeps to itself).
 */
export function writeFilesInNamespace(ns: HostNamespace, cloudConfig: string, dir: string): void {
  const outside = parseCloudConfig(cloudConfig).write_files.map((f) => f.path).filter((p) => !/^\/(etc|usr\/local)\//.test(p));
  if (outside.length) throw new Error(`write_files paths outside /etc and /usr/local would reach this machine: ${outside.join(', ')}`);
  const script = join(dir, 'ns-write-files.py');
  const input = join(dir, 'ns-write-files.yaml');
  writeFileSync(script, WRITE_FILES);
  writeFileSync(input, cloudConfig);
  const r = ns.run(cloudInitPython(), [script, input]);
  if (r.status !== 0) throw new Error(`write_files in the namespace exited ${r.status}: ${r.stderr}`);
}

/** runs the agent the cloud-config installed, once, against `url`, as the setup script does at first boot. */
export function runInstalledAgent(ns: HostNamespace, url: string): Promise<RunResult> {
  return ns.runAsync(INSTALLED_AGENT, ['--once', '--metadata-url', url]);
}

/** an sshd inside a namespace, on 127.0.0.1. */
export interface NamespaceSshd {
  readonly port: number;
  readonly log: string;
  /** what sshd logged since the last call. */
  newLog(): string;
  stop(): void;
}

/**
 * Starts `/usr/sbin/sshd -D` inside `ns` with `config` (default: the namespace's
 * /etc/ssh/sshd_config) and waits until it listens.
 */
export async function startSshdIn(ns: HostNamespace, dir: string, hostKey: string, config = '/etc/ssh/sshd_config', extra: string[] = []): Promise<NamespaceSshd> {
  const port = await freePort();
  const log = join(dir, `ns-sshd-${port}.log`);
  const pidFile = join(dir, `ns-sshd-${port}.pid`);
  writeFile(log, '');
  const child = ns.spawn(TOOLS.sshd, ['-D', '-f', config, '-h', hostKey, '-p', String(port), '-E', log,
    '-o', 'ListenAddress=127.0.0.1', '-o', `PidFile=${pidFile}`, '-o', 'LogLevel=VERBOSE', ...extra.flatMap((o) => ['-o', o])]);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let offset = 0;
  const sshd: NamespaceSshd = {
    port,
    log,
    newLog() {
      const all = readFileSync(log, 'utf8');
      const fresh = all.slice(offset);
      offset = all.length;
      return fresh;
    },
    // the pid is the namespace's: kill it from inside.
    stop: () => {
      const pid = (() => {
        try {
          return readFileSync(pidFile, 'utf8').trim();
        } catch {
          return '';
        }
      })();
      if (/^\d+$/.test(pid)) ns.run('/bin/kill', [pid]);
    },
  };
  if (!await waitFor(() => readFileSync(log, 'utf8').includes(`Server listening on 127.0.0.1 port ${port}.`))) {
    throw new Error(`sshd did not start in the namespace\nstderr: ${stderr}\nlog: ${readFileSync(log, 'utf8')}`);
  }
  return sshd;
}

// cloud-init's users_groups module as at first boot, inside the namespace: the user data through
// cloud-init's own part handler into the instance's cloud-config.txt, the config the modules see
// as stages.Init merges it (this machine's /etc/cloud/cloud.cfg and cloud.cfg.d, then the
// instance's), the distro as stages.Init makes it from system_info (default_user included), then
// the module's handle(). Prints the users and groups it was asked to create.
const USERS_GROUPS = `
import json, logging, os, sys, types
from cloudinit import stages, user_data
from cloudinit.distros import ug_util
from cloudinit.config import cc_users_groups
from cloudinit.handlers.cloud_config import CloudConfigPartHandler
# a first Init for the paths only: it reads (and keeps) the config before cloud-config.txt exists.
paths = stages.Init(ds_deps=[]).paths
out = paths.get_ipath_cur('cloud_config')
os.makedirs(os.path.dirname(out), exist_ok=True)
message = user_data.UserDataProcessor({}).process(open(sys.argv[1], 'rb').read())
paths.get_ipath = lambda *a: out
handler = CloudConfigPartHandler(paths)
handler.handle_part(None, '__begin__', None, None, None, None)
for part in message.walk():
    if part.get_content_maintype() == 'multipart':
        continue
    handler.handle_part(None, part.get_content_type(), part.get_filename(), part.get_payload(decode=True).decode(), 3, dict(part.items()))
handler.handle_part(None, '__end__', None, None, None, None)
init = stages.Init(ds_deps=[])
init.read_cfg()
cfg = init.cfg
distro = init.distro
users, groups = ug_util.normalize_users_groups(cfg, distro)
print(json.dumps({'users': sorted(users), 'groups': sorted(groups), 'cfg_users': cfg.get('users')}))
cloud = types.SimpleNamespace(distro=distro, get_public_ssh_keys=lambda: [])
cc_users_groups.handle('users_groups', cfg, cloud, logging.getLogger('users_groups'), [])
`;

/** what {@link usersGroupsInNamespace} found to do. */
export interface UsersGroupsRun {
  /** the users the module was asked to create (the image's default user among them, if any). */
  readonly users: string[];
  readonly groups: string[];
  /** `users` as the merged config holds it. */
  readonly cfgUsers: unknown;
}

/** Runs cloud-init's users_groups module over `userData` inside `ns`, as at first boot. */
export function usersGroupsInNamespace(ns: HostNamespace, userData: string, dir: string, name = 'users-groups'): UsersGroupsRun {
  const script = join(dir, `${name}.py`);
  const input = join(dir, `${name}.user-data`);
  writeFileSync(script, USERS_GROUPS);
  writeFileSync(input, userData);
  const r = ns.run(cloudInitPython(), [script, input]);
  if (r.status !== 0) throw new Error(`users_groups in the namespace exited ${r.status}: ${r.stdout}\n${r.stderr}`);
  const found = JSON.parse(r.stdout.trim().split('\n').pop()!) as { users: string[]; groups: string[]; cfg_users: unknown };
  return { users: found.users, groups: found.groups, cfgUsers: found.cfg_users };
}
