// the cloudflared updater as the droplet runs it: cloud-init/update-cloudflared started by its
// own unit, with real apt-get and dpkg installing stand-in cloudflared packages from a signed
// repository over HTTP, and a real systemd (PID 1 of a container on an overlay of this machine's
// root) restarting the real cloudflared-access.service. Nothing is substituted but cloudflared
// itself and Cloudflare's repository; the host's own packages, units and kernel stay untouched.
import { readFileSync } from 'fs';
import { join } from 'path';
import {
  describeReal, makeTempDir, NEEDS, removeTempDirs, ROOT, run, TOOLS, writeFile,
} from './helpers';
import { AptRepository, NEEDS_APT_REPOSITORY } from './helpers/apt-repository';
import { NEEDS_SYSTEMD_CONTAINER, stopAllContainers, SystemdContainer } from './helpers/systemd-container';

const CLOUD_INIT = join(ROOT, 'cloud-init');
const SCRIPT = readFileSync(join(CLOUD_INIT, 'update-cloudflared'), 'utf8');
const SERVICE = readFileSync(join(CLOUD_INIT, 'cdktf-cloudflared-update.service'), 'utf8');
const TIMER = readFileSync(join(CLOUD_INIT, 'cdktf-cloudflared-update.timer'), 'utf8');
const CONNECTOR = readFileSync(join(CLOUD_INIT, 'cloudflared-access.service'), 'utf8');

const SCRIPT_PATH = '/usr/local/lib/cdktf-access-droplet/update-cloudflared';
const UNIT_DIR = '/etc/systemd/system';
const STATE_FILE = '/var/lib/cdktf-access-droplet/cloudflared-update/state.json';
const KEYRING = '/usr/share/keyrings/cloudflared-archive-keyring.gpg';
const SOURCE_LIST = '/etc/apt/sources.list.d/cloudflared.list';

/** `key=` values of a unit. */
function unitValues(unit: string, key: string): string[] {
  return unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

describeReal('cdktf-cloudflared-update units, checked by systemd-analyze', [NEEDS.systemdAnalyze], () => {
  let dir: string;
  beforeAll(() => {
    dir = makeTempDir('update-units');
  });
  afterAll(() => removeTempDirs());

  /** `systemd-analyze verify` of the service and timer saved in `sub`, the service's program moved to `program`. */
  function verify(sub: string, program: string, edit: (text: string) => string = (t) => t) {
    const service = join(dir, sub, 'cdktf-cloudflared-update.service');
    const timer = join(dir, sub, 'cdktf-cloudflared-update.timer');
    writeFile(service, edit(SERVICE.replace(`ExecStart=${SCRIPT_PATH}`, `ExecStart=${program}`)));
    writeFile(timer, edit(TIMER));
    return run(TOOLS.systemdAnalyze, ['verify', '--man=no', service, timer]);
  }

  test('systemd-analyze verify accepts the service and the timer without a single warning', () => {
    const script = join(dir, 'update-cloudflared');
    writeFile(script, SCRIPT, 0o755);
    const r = verify('verify', script);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  test('systemd-analyze verify on the units as written only misses the script, installed on the droplet', () => {
    const r = verify('as-written', SCRIPT_PATH);
    expect(r.stderr.split('\n').filter((l) => l)).toEqual([
      `cdktf-cloudflared-update.service: Command ${SCRIPT_PATH} is not executable: No such file or directory`,
    ]);
  });

  test('systemd-analyze verify reports a misspelled key in either unit (control)', () => {
    const script = join(dir, 'update-cloudflared');
    const r = verify('control', script, (t) => t.replace('Persistent=true', 'Persistant=true').replace('PrivateTmp=yes', 'PrivateTemp=yes'));
    expect(r.stderr).toMatch(/Unknown key 'Persistant' in section \[Timer\]/);
    expect(r.stderr).toMatch(/Unknown key 'PrivateTemp' in section \[Service\]/);
  });

  test('the service runs the script as root, hardened as far as an apt run allows', () => {
    const service = join(dir, 'security', 'cdktf-cloudflared-update.service');
    writeFile(service, SERVICE.replace(`ExecStart=${SCRIPT_PATH}`, 'ExecStart=/bin/true'));
    const r = run(TOOLS.systemdAnalyze, ['security', '--offline=true', '--json=short', service]);
    const checks = new Map((JSON.parse(r.stdout) as Array<{ json_field: string; set: boolean }>).map((c) => [c.json_field, c.set]));
    for (const field of ['NoNewPrivileges', 'PrivateTmp', 'PrivateDevices', 'ProtectKernelTunables', 'ProtectKernelModules',
      'ProtectControlGroups', 'RestrictSUIDSGID', 'RestrictNamespaces_user', 'RestrictNamespaces_mnt', 'LockPersonality',
      'CapabilityBoundingSet_CAP_SYS_ADMIN', 'CapabilityBoundingSet_CAP_SYS_MODULE', 'CapabilityBoundingSet_CAP_NET_ADMIN']) {
      expect([field, checks.get(field)]).toEqual([field, true]);
    }
    // apt and dpkg write /usr, /var and /etc: a read-only system would make every update fail.
    expect(unitValues(SERVICE, 'ProtectSystem')).toEqual([]);
    expect(unitValues(SERVICE, 'User')).toEqual([]);
    expect(unitValues(SERVICE, 'IPAddressDeny')).toEqual(['169.254.169.254']);
    expect(unitValues(SERVICE, 'Type')).toEqual(['oneshot']);
  });

  test('the timer is daily, randomized and persistent, and starts the service', () => {
    expect(unitValues(TIMER, 'OnCalendar')).toEqual(['daily']);
    expect(unitValues(TIMER, 'RandomizedDelaySec')).toEqual(['6h']);
    expect(unitValues(TIMER, 'Persistent')).toEqual(['true']);
    expect(unitValues(TIMER, 'WantedBy')).toEqual(['timers.target']);
    // no Unit=: a timer starts the service of its own name.
    expect(unitValues(TIMER, 'Unit')).toEqual([]);
  });

  test('the script is python3 with the standard library only, and compiles', () => {
    expect(SCRIPT.split('\n')[0]).toBe('#!/usr/bin/python3');
    const imports = [...SCRIPT.matchAll(/^import (\w+)$/gm)].map((m) => m[1]);
    expect(SCRIPT).not.toMatch(/^from /m);
    const stdlib = ['datetime', 'errno', 'fcntl', 'hashlib', 'json', 'os', 're', 'shutil', 'signal', 'subprocess', 'sys', 'tempfile', 'time'];
    expect(imports.filter((i) => !stdlib.includes(i))).toEqual([]);
    const r = run('/usr/bin/python3', ['-c', 'import sys; compile(open(sys.argv[1]).read(), sys.argv[1], "exec")', join(CLOUD_INIT, 'update-cloudflared')]);
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});

const PYTHON3 = { what: '/usr/bin/python3', aptPackage: 'python3', present: () => run('/bin/sh', ['-c', 'test -x /usr/bin/python3']).status === 0 };

interface Unit {
  readonly ActiveState: string;
  readonly SubState: string;
  readonly MainPID: string;
  readonly InvocationID: string;
  readonly [key: string]: string;
}

interface UpdaterRun {
  /** the script's exit status. */
  readonly status: number;
  /** the run's journal lines. */
  readonly log: string[];
  /** cloudflared-access.service's journal lines since the run started. */
  readonly connectorLog: string[];
}

describeReal('updating cloudflared with real apt, dpkg and systemd', [...NEEDS_SYSTEMD_CONTAINER, ...NEEDS_APT_REPOSITORY, PYTHON3], () => {
  let container: SystemdContainer;
  let repo: AptRepository;

  function unit(name: string, ...extra: string[]): Unit {
    const keys = ['ActiveState', 'SubState', 'MainPID', 'InvocationID', ...extra];
    const out = container.runOk(['systemctl', 'show', ...keys.map((k) => `--property=${k}`), name]).stdout;
    return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) as unknown as Unit;
  }
  const connector = () => unit('cloudflared-access.service');
  const binaryVersion = () => container.run(['/usr/bin/cloudflared', '--version']).stdout.trim();
  const packageVersion = () => container.runOk(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'cloudflared']).stdout;
  const state = () => JSON.parse(container.runOk(['cat', STATE_FILE]).stdout) as {
    previous?: { version: string };
    bad: Record<string, { why: string }>;
    installing?: unknown;
  };
  function cursor(): string {
    return /-- cursor: (\S+)/.exec(container.runOk(['journalctl', '-n', '0', '--show-cursor', '--no-pager']).stdout)![1];
  }
  function journal(unitName: string, after: string): string[] {
    container.runOk(['journalctl', '--sync']);
    return container.runOk(['journalctl', '-u', unitName, `--after-cursor=${after}`, '-o', 'cat', '--no-pager']).stdout.split('\n').filter((l) => l);
  }

  const updaterLog = (from: string) => journal('cdktf-cloudflared-update.service', from).filter((l) => l.startsWith('cdktf-cloudflared-update: '));

  /** Starts the updater's unit, as its timer does, and waits for it to finish. */
  function runUpdater(): UpdaterRun {
    const from = cursor();
    container.run(['systemctl', 'start', 'cdktf-cloudflared-update.service'], { timeoutMs: 180000 });
    return finished(from);
  }

  function finished(from: string): UpdaterRun {
    const status = Number(unit('cdktf-cloudflared-update.service', 'ExecMainStatus').ExecMainStatus);
    return { status, log: updaterLog(from), connectorLog: journal('cloudflared-access.service', from) };
  }

  /** Waits until the running updater has logged a line matching `line`. */
  async function waitForLine(from: string, line: RegExp): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if (updaterLog(from).some((l) => line.test(l))) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`the updater never logged ${line}:\n${updaterLog(from).join('\n')}`);
  }

  /** A readable failure: the expectation with the run's log beside it. */
  function expectRun(r: UpdaterRun, status: number, lines: RegExp[]) {
    expect({ status: r.status, log: r.log }).toEqual({ status, log: expect.arrayContaining(lines.map((l) => expect.stringMatching(l))) });
  }

  const startRepository = () => container.runOk(['systemd-run', '--unit=cdktf-test-repo', '--property=DynamicUser=yes', '/usr/bin/python3',
    '-m', 'http.server', '8080', '--bind', '127.0.0.1', '--directory', '/srv/cdktf-test/repo']);

  beforeAll(async () => {
    const dir = makeTempDir('cloudflared-update');
    const share = join(dir, 'share');
    repo = new AptRepository(join(share, 'repo'), share);
    repo.publish('2025.1.0', 'good');
    container = await SystemdContainer.boot(join(dir, 'container'), [{ host: share, container: '/srv/cdktf-test' }]);
    startRepository();
    // what the first-boot setup does: the signed source, apt refreshing only it, the install.
    container.runOk(['install', '-m', '0644', '/srv/cdktf-test/cloudflared-test.gpg', KEYRING]);
    container.writeFile(SOURCE_LIST, `deb [signed-by=${KEYRING}] http://127.0.0.1:8080 ${AptRepository.SUITE} ${AptRepository.COMPONENT}\n`);
    // and, instead of this machine's own sources (unreachable here too, but slow to fail), a
    // source nobody answers for.
    container.runOk(['find', '/etc/apt/sources.list.d', '-type', 'f', '!', '-name', 'cloudflared.list', '-delete']);
    container.runOk(['rm', '-f', '/etc/apt/sources.list']);
    container.writeFile('/etc/apt/sources.list.d/unrelated.list', 'deb [trusted=yes] http://127.0.0.9:9/debian bookworm main\n');
    const onlyCloudflared = ['-o', `Dir::Etc::sourcelist=sources.list.d/cloudflared.list`, '-o', 'Dir::Etc::sourceparts=-', '-o', 'APT::Get::List-Cleanup=0'];
    for (let i = 0; ; i++) {
      // the repository's server may take a moment to listen.
      const r = container.run(['apt-get', '-o', 'DPkg::Lock::Timeout=600', ...onlyCloudflared, 'update']);
      if (r.status === 0 && !/Failed to fetch/.test(r.stdout + r.stderr)) break;
      if (i === 50) throw new Error(`apt-get update: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 100));
    }
    container.runOk(['apt-get', '-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', 'cloudflared'], { timeoutMs: 120000 });
    container.writeFile('/etc/cloudflared-access/tunnel.env', 'TUNNEL_TOKEN=stand-in\n', 0o600);
    container.writeFile(`${UNIT_DIR}/cloudflared-access.service`, CONNECTOR);
    // the updater, its units, and shorter waits than on a droplet (the same code paths).
    container.writeFile(SCRIPT_PATH, SCRIPT, 0o755);
    container.writeFile(`${UNIT_DIR}/cdktf-cloudflared-update.service`, SERVICE);
    container.writeFile(`${UNIT_DIR}/cdktf-cloudflared-update.timer`, TIMER);
    container.writeFile(`${UNIT_DIR}/cdktf-cloudflared-update.service.d/test-timing.conf`,
      '[Service]\nEnvironment=CDKTF_CLOUDFLARED_UPDATE_SETTLE_SEC=1 CDKTF_CLOUDFLARED_UPDATE_START_TIMEOUT_SEC=30\n');
    container.runOk(['systemctl', 'daemon-reload']);
    container.runOk(['systemctl', 'enable', '--now', 'cloudflared-access.service'], { timeoutMs: 60000 });
  }, 180000);

  afterAll(async () => {
    await stopAllContainers();
    repo?.dispose();
    removeTempDirs();
  });

  test('the connector runs cloudflared 2025.1.0, installed from the repository as at first boot', () => {
    expect(packageVersion()).toBe('install ok installed 2025.1.0');
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.1\.0 /);
    expect(connector()).toMatchObject({ ActiveState: 'active', SubState: 'running' });
    // the unrelated source really cannot be reached (control for the update below).
    const r = container.run(['apt-get', '-o', 'Dir::Etc::sourcelist=sources.list.d/unrelated.list', '-o', 'Dir::Etc::sourceparts=-',
      '-o', 'APT::Get::List-Cleanup=0', '-o', 'APT::Update::Error-Mode=any', 'update']);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Could not connect to 127\.0\.0\.9:9/);
  });

  test('the timer is armed for later, and enabling it does not start an update', () => {
    container.runOk(['systemctl', 'enable', '--now', 'cdktf-cloudflared-update.timer']);
    const timer = unit('cdktf-cloudflared-update.timer', 'TimersCalendar', 'RandomizedDelayUSec', 'Persistent', 'FixedRandomDelay',
      'NextElapseUSecRealtime', 'LastTriggerUSec');
    expect(timer).toMatchObject({
      ActiveState: 'active', SubState: 'waiting', RandomizedDelayUSec: '6h', Persistent: 'yes', FixedRandomDelay: 'yes', LastTriggerUSec: '',
    });
    expect(timer.TimersCalendar).toMatch(/OnCalendar=\*-\*-\* 00:00:00/);
    expect(unit('cdktf-cloudflared-update.service').InvocationID).toBe('');
    // from here on only the tests start the updater.
    container.runOk(['systemctl', 'stop', 'cdktf-cloudflared-update.timer']);
  });

  test('no newer version: nothing is installed and the connector is not restarted', () => {
    const before = connector();
    const r = runUpdater();
    expectRun(r, 0, [/^cdktf-cloudflared-update: cloudflared 2025\.1\.0 is current/]);
    expect(connector()).toEqual(before);
    expect(state().previous).toMatchObject({ version: '2025.1.0' });
  });

  test('it waits for the lock the first-boot setup holds, and for another apt run to release apt\'s lists', async () => {
    // both locks are held until the updater has said it waits for each.
    container.runOk(['mkdir', '-p', '/run/cdktf-access-droplet']);
    container.runOk(['touch', '/run/hold-setup-lock', '/run/hold-apt-lock']);
    container.runOk(['systemd-run', '--unit=cdktf-test-setup-lock', 'flock', '/run/cdktf-access-droplet/cloudflared.lock',
      'sh', '-c', 'while [ -e /run/hold-setup-lock ]; do sleep 0.1; done']);
    container.runOk(['systemd-run', '--unit=cdktf-test-apt-lock', '/usr/bin/python3', '-c', [
      'import fcntl, os, time', 'f = open("/var/lib/apt/lists/lock", "w")', 'fcntl.lockf(f, fcntl.LOCK_EX)',
      'while os.path.exists("/run/hold-apt-lock"): time.sleep(0.1)'].join('\n')]);
    const from = cursor();
    container.runOk(['systemctl', 'start', '--no-block', 'cdktf-cloudflared-update.service']);
    await waitForLine(from, /^cdktf-cloudflared-update: waiting for \/run\/cdktf-access-droplet\/cloudflared\.lock/);
    expect(updaterLog(from).filter((l) => /apt-get/.test(l))).toEqual([]);
    container.runOk(['rm', '/run/hold-setup-lock']);
    await waitForLine(from, /^cdktf-cloudflared-update: apt's lists are locked by another apt run; trying again in 2 s$/);
    container.runOk(['rm', '/run/hold-apt-lock']);
    for (let i = 0; i < 1800 && unit('cdktf-cloudflared-update.service').ActiveState === 'activating'; i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    const r = finished(from);
    expectRun(r, 0, [
      /^cdktf-cloudflared-update: apt-get update: E: Could not get lock \/var\/lib\/apt\/lists\/lock/,
      /^cdktf-cloudflared-update: cloudflared 2025\.1\.0 is current/,
    ]);
  });

  test('a newer version is installed and the connector restarted on it, although another source is unreachable', () => {
    repo.publish('2025.2.0', 'good');
    const before = connector();
    const r = runUpdater();
    expectRun(r, 0, [/^cdktf-cloudflared-update: cloudflared updated 2025\.1\.0 -> 2025\.2\.0$/]);
    expect(packageVersion()).toBe('install ok installed 2025.2.0');
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.2\.0 /);
    const after = connector();
    expect(after).toMatchObject({ ActiveState: 'active', SubState: 'running' });
    expect(after.InvocationID).not.toBe(before.InvocationID);
    // the process systemd runs now is the new binary: it says so when it starts.
    expect(r.connectorLog).toContain('stand-in cloudflared 2025.2.0: --no-autoupdate tunnel run');
    expect(state().previous).toMatchObject({ version: '2025.2.0' });
  });

  test('a newer version whose binary exits 1: the previous binary is put back, the connector restarted on it, the version remembered', () => {
    repo.publish('2025.3.0', 'broken');
    const before = connector();
    const r = runUpdater();
    expectRun(r, 1, [
      /^cdktf-cloudflared-update: cloudflared 2025\.3\.0 failed: \/usr\/bin\/cloudflared --version exited 1/,
      /^cdktf-cloudflared-update: put back cloudflared 2025\.2\.0: cloudflared-access\.service runs it again/,
    ]);
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.2\.0 /);
    // dpkg still lists the version it unpacked: only the binary went back.
    expect(packageVersion()).toBe('install ok installed 2025.3.0');
    const after = connector();
    expect(after).toMatchObject({ ActiveState: 'active', SubState: 'running' });
    expect(after.InvocationID).not.toBe(before.InvocationID);
    expect(r.connectorLog).toContain('stand-in cloudflared 2025.2.0: --no-autoupdate tunnel run');
    expect(Object.keys(state().bad)).toEqual(['2025.3.0']);
  });

  test('the next run skips the version that failed and restarts nothing', () => {
    const before = connector();
    const r = runUpdater();
    expectRun(r, 0, [/^cdktf-cloudflared-update: skipping cloudflared 2025\.3\.0: it failed here at /]);
    expect(connector()).toEqual(before);
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.2\.0 /);
  });

  test('a newer version that exits once started: put back and remembered too', () => {
    repo.publish('2025.4.0', 'crashes');
    const r = runUpdater();
    expectRun(r, 1, [
      /^cdktf-cloudflared-update: cloudflared 2025\.4\.0 failed: cloudflared-access\.service on cloudflared 2025\.4\.0 (did not stay up|exited and was restarted)/,
      /^cdktf-cloudflared-update: put back cloudflared 2025\.2\.0/,
    ]);
    // it did run (and exit), then the previous binary started again.
    const crashed = r.connectorLog.indexOf('stand-in: exiting with an error');
    expect(crashed).toBeGreaterThanOrEqual(0);
    expect(r.connectorLog.lastIndexOf('stand-in cloudflared 2025.2.0: --no-autoupdate tunnel run')).toBeGreaterThan(crashed);
    expect(connector()).toMatchObject({ ActiveState: 'active', SubState: 'running' });
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.2\.0 /);
    expect(Object.keys(state().bad).sort()).toEqual(['2025.3.0', '2025.4.0']);
  });

  test('the repository unreachable: nothing changes, and the run fails', () => {
    repo.publish('2025.5.0', 'good');
    container.runOk(['systemctl', 'stop', 'cdktf-test-repo.service']);
    const before = { connector: connector(), pkg: packageVersion(), binary: container.runOk(['sha256sum', '/usr/bin/cloudflared']).stdout };
    const r = runUpdater();
    expectRun(r, 1, [/^cdktf-cloudflared-update: apt-get update of \/etc\/apt\/sources\.list\.d\/cloudflared\.list failed/]);
    expect({ connector: connector(), pkg: packageVersion(), binary: container.runOk(['sha256sum', '/usr/bin/cloudflared']).stdout }).toEqual(before);
  });

  test('reachable again: a version newer than the ones that failed is installed, and they are forgotten', () => {
    startRepository();
    const r = runUpdater();
    expectRun(r, 0, [/^cdktf-cloudflared-update: cloudflared updated 2025\.2\.0 -> 2025\.5\.0$/]);
    expect(packageVersion()).toBe('install ok installed 2025.5.0');
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.5\.0 /);
    expect(r.connectorLog).toContain('stand-in cloudflared 2025.5.0: --no-autoupdate tunnel run');
    expect(state().bad).toEqual({});
  });

  test('an upgrade by apt outside the updater is noticed: the next run restarts the connector on it', () => {
    repo.publish('2025.6.0', 'good');
    const before = connector();
    // an operator's apt run, with every source (the unrelated one fails, cloudflared's works).
    container.run(['apt-get', '-o', 'Acquire::Retries=0', 'update'], { timeoutMs: 120000 });
    container.runOk(['apt-get', 'install', '-y', 'cloudflared'], { timeoutMs: 120000 });
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.6\.0 /);
    // control: apt did not restart the connector, which still runs the binary it started with.
    expect(connector()).toEqual(before);
    const r = runUpdater();
    expectRun(r, 0, [
      /^cdktf-cloudflared-update: \/usr\/bin\/cloudflared changed after cloudflared-access\.service started .*cloudflared 2025\.6\.0 was installed outside this updater/,
      /^cdktf-cloudflared-update: cloudflared 2025\.6\.0 is current/,
    ]);
    expect(connector().InvocationID).not.toBe(before.InvocationID);
    expect(r.connectorLog).toContain('stand-in cloudflared 2025.6.0: --no-autoupdate tunnel run');
  });

  test('a broken upgrade by apt outside the updater: the next run puts the previous binary back', () => {
    repo.publish('2025.7.0', 'broken');
    container.run(['apt-get', '-o', 'Acquire::Retries=0', 'update'], { timeoutMs: 120000 });
    container.runOk(['apt-get', 'install', '-y', 'cloudflared'], { timeoutMs: 120000 });
    const r = runUpdater();
    expectRun(r, 1, [/^cdktf-cloudflared-update: put back cloudflared 2025\.6\.0: cloudflared-access\.service runs it again/]);
    expect(binaryVersion()).toMatch(/^cloudflared version 2025\.6\.0 /);
    expect(connector()).toMatchObject({ ActiveState: 'active', SubState: 'running' });
    expect(Object.keys(state().bad)).toEqual(['2025.7.0']);
  });
});
