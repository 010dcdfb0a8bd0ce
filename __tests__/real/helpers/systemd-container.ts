// systemd as PID 1 of private namespaces, on a copy-on-write overlay of this machine's own root,
// for tests that need real units started and restarted by a real service manager while this
// machine runs without systemd. Like systemd-nspawn (which CI does not install): own mount, PID,
// network, UTS, IPC and cgroup namespaces, a cgroup of its own, /sys and /proc/sys read-only,
// no capability to load modules or set the clock. Everything it writes lands in a tmpfs that
// vanishes with it; the network namespace has only a loopback interface.
import { ChildProcess, spawn } from 'child_process';
import { accessSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync } from 'fs';
import { join } from 'path';
import { RunResult, run, sleep } from './process';
import { Requirement } from './requirements';

const SYSTEMD = '/lib/systemd/systemd';
const NSENTER = '/usr/bin/nsenter';
const SETPRIV = '/usr/bin/setpriv';
const UNSHARE = '/usr/bin/unshare';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The cgroup2 directory this process sits in, when it may make a child cgroup there. */
function ownCgroup(): string | undefined {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' '))
    .filter((f) => f.length > 9 && f[f.indexOf('-') + 1] === 'cgroup2').map((f) => ({ root: f[3], point: f[4] }));
  const self = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
  const mount = mounts.find((m) => m.root === '/');
  if (!mount || self === undefined) return undefined;
  const dir = join(mount.point, self);
  try {
    accessSync(dir, constants.W_OK);
    return dir;
  } catch {
    return undefined;
  }
}

const tool = (path: string, aptPackage: string): Requirement => ({
  what: path, aptPackage, present: () => existsSync(path),
});

export const NEEDS_SYSTEMD_CONTAINER: Requirement[] = [
  { what: 'root', aptPackage: '', present: () => process.getuid?.() === 0 },
  tool(SYSTEMD, 'systemd'),
  tool(NSENTER, 'util-linux'),
  tool(SETPRIV, 'util-linux'),
  tool(UNSHARE, 'util-linux'),
  { what: 'a writable cgroup2 hierarchy (for the container\'s own cgroup)', aptPackage: '', present: () => ownCgroup() !== undefined },
  { what: 'overlayfs', aptPackage: '', present: () => /\toverlay$/m.test(readFileSync('/proc/filesystems', 'utf8')) },
];

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Units the container never runs: timers that would start apt, and what changes the host's kernel. */
const MASKED = [
  'apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer', 'e2scrub_all.timer', 'fstrim.timer', 'man-db.timer',
  'systemd-tmpfiles-clean.timer', 'systemd-sysctl.service', 'systemd-modules-load.service', 'systemd-binfmt.service',
  'systemd-remount-fs.service', 'systemd-timesyncd.service', 'systemd-pstore.service',
];

export interface Bind {
  /** a directory on this machine. */
  readonly host: string;
  /** where the container sees it. */
  readonly container: string;
}

export class SystemdContainer {
  private constructor(
    /** PID 1 of the container, as this machine numbers it. */
    readonly pid: number,
    private readonly child: ChildProcess,
    private readonly cgroup: string,
    private readonly log: string,
  ) {}

  /**
   * Boots systemd into `cdktf-test.target` (basic.target and a watchdog that ends the container
   * after `lifetimeSec` if nobody stops it), with `binds` mounted in.
   */
  static async boot(dir: string, binds: readonly Bind[] = [], lifetimeSec = 900): Promise<SystemdContainer> {
    const parent = ownCgroup();
    if (!parent) throw new Error('no writable cgroup2 hierarchy');
    const cgroup = join(parent, `cdktf-access-droplet-test-${process.pid}-${Date.now()}`);
    const base = join(dir, 'overlay');
    mkdirSync(base, { recursive: true });
    const r = `${base}/root`;
    const units = `${r}/etc/systemd/system`;
    const inner = [
      'set -eu',
      'mount --make-rprivate /',
      `mount -t tmpfs -o mode=0755 tmpfs ${q(base)}`,
      `mkdir ${q(`${base}/upper`)} ${q(`${base}/work`)} ${q(r)}`,
      `mount -t overlay overlay -o ${q(`lowerdir=/,upperdir=${base}/upper,workdir=${base}/work`)} ${q(r)}`,
      `mount -t proc proc ${q(`${r}/proc`)}`,
      `mount --bind ${q(`${r}/proc/sys`)} ${q(`${r}/proc/sys`)}`,
      `mount -o remount,bind,ro ${q(`${r}/proc/sys`)}`,
      `if [ -e ${q(`${r}/proc/sysrq-trigger`)} ]; then mount --bind ${q(`${r}/proc/sysrq-trigger`)} ${q(`${r}/proc/sysrq-trigger`)}; `
        + `mount -o remount,bind,ro ${q(`${r}/proc/sysrq-trigger`)}; fi`,
      `mount -t sysfs -o ro sysfs ${q(`${r}/sys`)}`,
      `mount -t cgroup2 cgroup2 ${q(`${r}/sys/fs/cgroup`)}`,
      `mount -t tmpfs -o mode=0755 tmpfs ${q(`${r}/dev`)}`,
      ...['null', 'zero', 'full', 'random', 'urandom', 'tty'].map((d) => `touch ${q(`${r}/dev/${d}`)} && mount --bind /dev/${d} ${q(`${r}/dev/${d}`)}`),
      `mkdir ${q(`${r}/dev/pts`)} ${q(`${r}/dev/shm`)}`,
      `mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts ${q(`${r}/dev/pts`)}`,
      `ln -s pts/ptmx ${q(`${r}/dev/ptmx`)}`,
      `mount -t tmpfs -o mode=1777 tmpfs ${q(`${r}/dev/shm`)}`,
      `mount -t tmpfs -o mode=0755 tmpfs ${q(`${r}/run`)}`,
      `mount -t tmpfs -o mode=1777 tmpfs ${q(`${r}/tmp`)}`,
      ...binds.flatMap((b) => [`mkdir -p ${q(`${r}${b.container}`)}`, `mount --bind ${q(b.host)} ${q(`${r}${b.container}`)}`]),
      ...MASKED.map((u) => `ln -sf /dev/null ${q(`${units}/${u}`)}`),
      `cat > ${q(`${units}/cdktf-test.target`)} <<'EOF'`,
      '[Unit]',
      'Description=cdktf-access-droplet test container',
      'Requires=basic.target cdktf-test-watchdog.service',
      'After=basic.target',
      'EOF',
      `cat > ${q(`${units}/cdktf-test-watchdog.service`)} <<'EOF'`,
      '[Unit]',
      'Description=ends the test container if the test never does',
      '[Service]',
      `ExecStart=/bin/sleep ${lifetimeSec}`,
      'SuccessAction=exit-force',
      'FailureAction=exit-force',
      'EOF',
      // the overlay becomes the namespace's root and this machine's root is unmounted from it: nothing
      // in the container hangs on a path of this machine (a cleaner removing the temporary
      // directory would otherwise detach the container's mounts).
      `mkdir ${q(`${r}/.old-root`)}`,
      `cd ${q(r)}`,
      'pivot_root . .old-root',
      'cd /',
      'umount -l /.old-root',
      'rmdir /.old-root',
      `exec ${SETPRIV} --bounding-set -sys_module,-sys_time,-sys_rawio,-syslog,-wake_alarm,-block_suspend,-mac_admin,-mac_override,-sys_pacct,-perfmon `
        + `${SYSTEMD} --system --unit=cdktf-test.target`,
    ].join('\n');
    const outer = [
      'set -eu',
      `mkdir ${q(cgroup)}`,
      `echo $$ > ${q(`${cgroup}/cgroup.procs`)}`,
      `exec ${UNSHARE} --cgroup --mount --pid --net --uts --ipc --fork --kill-child /usr/bin/env -i container=cdktf-test PATH=${PATH} /bin/sh -c ${q(inner)}`,
    ].join('\n');
    const log = join(dir, 'container.log');
    const out = openSync(log, 'w');
    const child = spawn('/bin/sh', ['-c', outer], { stdio: ['ignore', out, out] });
    // PID 1 of the container is the one child of unshare (which the outer shell became).
    let pid = 0;
    for (let i = 0; i < 100 && !pid; i++) {
      await sleep(50);
      if (child.exitCode !== null) break;
      const children = `/proc/${child.pid}/task/${child.pid}/children`;
      if (existsSync(children)) pid = Number(readFileSync(children, 'utf8').trim().split(' ')[0]) || 0;
    }
    const container = new SystemdContainer(pid, child, cgroup, log);
    running.push(container);
    if (!pid) {
      await container.stop();
      throw new Error(`the container did not start:\n${readFileSync(log, 'utf8')}`);
    }
    let state = '';
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null) {
      state = container.run(['systemctl', 'is-system-running'], { timeoutMs: 10_000 }).stdout.trim();
      if (state === 'running' || state === 'degraded') return container;
      await sleep(100);
    }
    const failed = container.run(['systemctl', '--failed', '--no-pager']).stdout;
    await container.stop();
    throw new Error(`systemd in the container did not finish booting (${state}):\n${failed}\n${readFileSync(log, 'utf8')}`);
  }

  /** Runs a program inside the container, as root, with a plain PATH and the C locale. */
  run(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    return run(NSENTER, ['-t', String(this.pid), '-m', '-u', '-i', '-n', '-p', '-C', '-r', '-w', '--',
      '/usr/bin/env', '-i', `PATH=${PATH}`, 'LC_ALL=C', ...args], opts);
  }

  /** Like {@link run}, throwing unless the program exits 0. */
  runOk(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
    const r = this.run(args, opts);
    if (r.status !== 0) throw new Error(`in the container: ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  /** Writes a root-owned file in the container, creating its directory. */
  writeFile(path: string, content: string, mode = 0o644): void {
    this.runOk(['/bin/sh', '-c', 'mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1"', 'sh', path, mode.toString(8)], { input: content });
  }

  /** Kills the container (every process in it dies with its PID 1) and removes its cgroup. */
  async stop(): Promise<void> {
    const i = running.indexOf(this);
    if (i >= 0) running.splice(i, 1);
    if (this.pid) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone.
      }
    }
    for (let i = 0; i < 100 && this.child.exitCode === null && this.child.signalCode === null; i++) await sleep(50);
    for (let i = 0; i < 100 && existsSync(this.cgroup); i++) {
      try {
        removeCgroup(this.cgroup);
      } catch {
        await sleep(50);
      }
    }
    if (existsSync(this.cgroup)) throw new Error(`could not remove the container's cgroup ${this.cgroup}`);
  }

  /** What the boot script printed (empty when all went well). */
  bootLog(): string {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : '';
  }
}

const running: SystemdContainer[] = [];

/** Stops every container this process booted, also one whose boot never returned (afterAll). */
export async function stopAllContainers(): Promise<void> {
  while (running.length) await running[running.length - 1].stop();
}

/** Removes a cgroup and its children, deepest first (a cgroup is removed with rmdir). */
function removeCgroup(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) removeCgroup(path);
  }
  rmdirSync(dir);
}

