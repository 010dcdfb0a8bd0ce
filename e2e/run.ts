/**
 * End-to-end test (issue #4): boots a Debian VM under QEMU with the cloud-config that
 * `renderCloudInit` makes, then checks from the host that an Access-style SSH certificate logs
 * in and everything else is refused, and that the cloudflared service runs with its token.
 *
 * Usage: `npm run test:e2e`. Needs root and: debootstrap qemu-system-x86 cloud-image-utils
 * e2fsprogs openssh-client gnupg. Environment:
 * - `CI=true`: a missing tool fails the run instead of skipping it.
 * - `E2E_CACHE_DIR` (default `.e2e-cache/`): where the built image is kept between runs.
 * - `E2E_DEBIAN_MIRROR` (default http://deb.debian.org/debian): debootstrap's mirror.
 * - `E2E_APT_KEY=asc`: hand the VM the ASCII-armoured repository key instead of the binary one.
 * - `E2E_TIMEOUT_SEC` (default 1200): the whole run is abandoned after this long.
 * - `E2E_KEEP=1`: keep the scratch directory (seed, console log, keys) even when the run passes.
 * - `E2E_VM_CPUS` (default 2), `E2E_QEMU_CPU` (default max): the guest's CPUs and CPU model.
 */
import { randomUUID } from 'crypto';
import { accessSync, constants, existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { renderCloudInit } from '../lib/cloud-init';
import { AccessUserInput } from '../lib/users';
import { ensureImage } from './image';
import { Credential, offeredMethods, SshClient, wasRefused } from './ssh';
import { log, RunResult, sleep, Timings } from './util';
import { makeSeed, Vm } from './vm';

const REPO_ROOT = join(__dirname, '..');
const CACHE_DIR = process.env.E2E_CACHE_DIR ?? join(REPO_ROOT, '.e2e-cache');
const MIRROR = process.env.E2E_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const IN_CI = process.env.CI === 'true';
const TIMEOUT_SEC = Number(process.env.E2E_TIMEOUT_SEC ?? 1200);
const BOOT_TIMEOUT_MS = 6 * 60_000;
const CLOUD_INIT_TIMEOUT_MS = 8 * 60_000;
const VM_CPUS = Number(process.env.E2E_VM_CPUS ?? 2);
const VM_MEMORY_MB = 1024;

/** The tools the harness runs, with the Debian package that has each. */
const TOOLS: [string, string][] = [
  ['debootstrap', 'debootstrap'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['cloud-localds', 'cloud-image-utils'],
  ['genisoimage', 'genisoimage'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['dpkg-deb', 'dpkg'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['gpg', 'gnupg'],
  ['gpgconf', 'gnupg'],
  ['gpgv', 'gpgv'],
];

const SRHEA = { email: 'srhea@cloudflare.com', unix: 'srhea', principal: 'srhea' };
const JDOE = { email: 'jane.doe@example.com', unix: 'jdoe', principal: 'jane.doe' };
const USERS: AccessUserInput[] = [SRHEA.email, { email: JDOE.email, unixName: JDOE.unix, sudo: true }];

/** Shaped like a real tunnel token (base64 JSON), fresh each run so a stale VM cannot pass. */
const TUNNEL_TOKEN = Buffer.from(JSON.stringify({
  a: 'e2e0000000000000000000000000acct', t: randomUUID(), s: Buffer.from(randomUUID()).toString('base64'),
})).toString('base64');

class Checks {
  passed = 0;
  failed = 0;

  async check(name: string, fn: () => Promise<void> | void): Promise<boolean> {
    try {
      await fn();
      this.passed++;
      log(`ok   - ${name}`);
      return true;
    } catch (e) {
      this.failed++;
      const message = e instanceof Error ? e.message : String(e);
      log(`FAIL - ${name}\n${message.split('\n').map((l) => `       ${l}`).join('\n')}`);
      return false;
    }
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function show(r: RunResult): string {
  return `exit ${r.code ?? r.signal}; stdout: ${JSON.stringify(r.stdout.trim().slice(-600))}; stderr: ${JSON.stringify(r.stderr.trim().slice(-600))}`;
}

function findTool(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Missing prerequisites, each with how to get it. */
function missingPrerequisites(): string[] {
  const problems: string[] = [];
  if (process.getuid && process.getuid() !== 0) {
    problems.push('root (debootstrap and mkfs.ext4 -d must keep file owners): run as root');
  }
  const missing = TOOLS.filter(([cmd]) => !findTool(cmd));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, p]) => p))];
    problems.push(`${missing.map(([c]) => c).join(', ')}: apt-get install -y ${packages.join(' ')}`);
  }
  return problems;
}

/** The script run as root inside the VM (through jdoe's sudo) that gathers what is asserted. */
const FACTS_SCRIPT = `
set +e
unit=cloudflared-access.service
# the setup script starts the unit with --no-block; give it a moment to report ready.
for i in $(seq 60); do systemctl is-active -q $unit && break; sleep 1; done
section() { echo "=== $1"; }
section dropins; ls -1 /etc/ssh/sshd_config.d
section cloud-init-conf; cat /etc/ssh/sshd_config.d/50-cloud-init.conf
section tunnel-env; stat -c '%a %U %G' /etc/cloudflared-access/tunnel.env
section tunnel-dir; stat -c '%a %U %G' /etc/cloudflared-access
section active; systemctl is-active $unit
section enabled; systemctl is-enabled $unit
section show; systemctl show -p Type,DynamicUser,MainPID,StatusText,NRestarts,ExecMainStartTimestamp $unit
section journal; journalctl -b -u $unit --no-pager -o cat
section cmdline; pid=$(systemctl show -p MainPID --value $unit); tr '\\0' ' ' < /proc/$pid/cmdline; echo
section proc-uid; awk '/^Uid:/ {print $2}' /proc/$pid/status
section apt-source; cat /etc/apt/sources.list.d/cloudflared.list
section keyring; ls -1 /usr/share/keyrings/ | grep cloudflared
section dpkg; dpkg-query -W -f '\${Package} \${Version} \${Status}\\n' cloudflared
section policy; apt-cache policy cloudflared
section passwd; getent passwd ${SRHEA.unix} ${JDOE.unix}
section shadow; getent shadow ${SRHEA.unix} ${JDOE.unix} | awk -F: '{print $1, substr($2, 1, 1)}'
section principals; for f in /etc/ssh/auth_principals/*; do echo "$(basename $f): $(cat $f)"; done
section ca; cat /etc/ssh/ca.pub
section setup-log; grep 'cdktf-access-droplet:' /var/log/cloud-init-output.log
section sshd-journal; journalctl -b -u ssh.service --no-pager -o cat | grep -E 'Accepted|REFUSED|principal|Certificate|CA|invalid' | tail -n 40
section failed-units; systemctl --failed --no-legend --plain
section cloud-init-output; tail -n 40 /var/log/cloud-init-output.log
`;

function sections(text: string): Map<string, string> {
  const map = new Map<string, string>();
  const parts = text.split(/^=== (\S+)\n/m);
  for (let i = 1; i + 1 < parts.length; i += 2) map.set(parts[i], parts[i + 1].trimEnd());
  return map;
}

async function main(): Promise<number> {
  const timings = new Timings();
  const checks = new Checks();
  let vm: Vm | undefined;
  let scratch: string | undefined;
  let failure: string | undefined;
  let lock: string | undefined;

  const cleanup = () => vm?.kill();
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      cleanup();
      process.stderr.write(`e2e: stopped by ${sig}; qemu killed\n`);
      process.exit(1);
    });
  }
  const deadline = setTimeout(() => {
    log(`FAIL - the run took longer than E2E_TIMEOUT_SEC=${TIMEOUT_SEC}; abandoning it`);
    if (vm) log(`serial console (last 60 lines):\n${vm.consoleTail(60)}`);
    cleanup();
    if (lock) rmSync(lock, { force: true });
    if (scratch) log(`scratch directory kept: ${scratch}`);
    log(`${checks.passed} passed, ${checks.failed + 1} failed`);
    process.exit(1);
  }, TIMEOUT_SEC * 1000);

  const problems = missingPrerequisites();
  if (problems.length > 0) {
    clearTimeout(deadline);
    const text = problems.map((p) => `  - ${p}`).join('\n');
    if (IN_CI) {
      log(`FAIL - missing prerequisites (CI=true makes this a failure):\n${text}`);
      log('0 passed, 1 failed');
      return 1;
    }
    log(`SKIPPED - missing prerequisites (under CI=true this fails):\n${text}`);
    log('0 passed, 0 failed, 1 skipped');
    return 0;
  }

  try {
    await fs.mkdir(CACHE_DIR, { recursive: true });
    lock = await takeLock(join(CACHE_DIR, 'lock'));
    const image = await ensureImage(CACHE_DIR, timings, MIRROR);
    scratch = mkdtempSync(join(tmpdir(), 'access-droplet-e2e-'));
    const dir = scratch;

    const keyUrl = process.env.E2E_APT_KEY === 'asc' ? image.aptKeyUrlArmoured : image.aptKeyUrlBinary;
    const { client, seed } = await timings.time('seed', async () => {
      const c = await SshClient.create(dir);
      const userData = renderCloudInit({
        caPublicKey: await c.caPublicKey(),
        tunnelToken: TUNNEL_TOKEN,
        users: USERS,
        cloudflaredAptUrl: image.aptUrl,
        cloudflaredAptKeyUrl: keyUrl,
        cloudflaredAptSuite: image.aptSuite,
        cloudflaredAptComponent: image.aptComponent,
      });
      return { client: c, seed: await makeSeed(dir, userData, `e2e-${randomUUID()}`) };
    });
    log(`apt source in the VM: ${image.aptUrl} ${image.aptSuite} ${image.aptComponent}, key ${keyUrl}`);

    const jdoeCert = await client.cert('jdoe', { principal: JDOE.principal });
    const srheaCert = await client.cert('srhea', { principal: SRHEA.principal });

    await timings.time('boot-to-ssh', async () => {
      vm = await Vm.boot(image, seed, dir, VM_CPUS, VM_MEMORY_MB);
      log(`qemu pid ${vm.pid}, ssh forwarded from 127.0.0.1:${vm.sshPort}, console ${vm.consoleLog}`);
      const until = Date.now() + BOOT_TIMEOUT_MS;
      let last: RunResult | undefined;
      for (;;) {
        if (vm.exited) throw new Error(`qemu ${vm.exited} before ssh came up`);
        last = await client.ssh(vm.sshPort, JDOE.unix, jdoeCert, 'true', { timeoutMs: 60_000 });
        if (last.code === 0) return;
        if (Date.now() > until) {
          throw new Error(`no certificate login within ${BOOT_TIMEOUT_MS / 1000} s; last attempt: ${show(last)}`);
        }
        await sleep(2000);
      }
    });

    const status = await timings.time('cloud-init done', async () => {
      // cloud-init 22.4's `status --wait` returns as soon as any stage has an error, before the
      // final stage (our setup script) has run; result.json appears only when that stage ends.
      return client.ssh(vm!.sshPort, JDOE.unix, jdoeCert,
        'while [ ! -e /run/cloud-init/result.json ]; do sleep 2; done; cloud-init status --wait --long',
        { timeoutMs: CLOUD_INIT_TIMEOUT_MS });
    });

    await timings.time('assertions', () => assertions(checks, client, vm!, status, { jdoeCert, srheaCert }));
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  } finally {
    clearTimeout(deadline);
    await vm?.stop();
    if (lock) await fs.rm(lock, { force: true });
  }

  if (failure) {
    checks.failed++;
    log(`FAIL - ${failure}`);
  }
  if (checks.failed > 0 && vm) {
    log(`serial console, last 80 lines (${vm.consoleLog}):\n${vm.consoleTail(80)}`);
  }
  if (scratch) {
    if (checks.failed > 0 || process.env.E2E_KEEP === '1') {
      log(`scratch directory kept: ${scratch}`);
    } else {
      await fs.rm(scratch, { recursive: true, force: true });
    }
  }
  log(`timings:\n${timings.summary()}`);
  log(`${checks.passed} passed, ${checks.failed} failed`);
  return checks.failed > 0 ? 1 : 0;
}

/** One run at a time per cache: a second one would rebuild or prune under the first's feet. */
async function takeLock(path: string): Promise<string> {
  try {
    await fs.writeFile(path, String(process.pid), { flag: 'wx' });
    return path;
  } catch {
    const holder = Number(existsSync(path) ? readFileSync(path, 'utf8') : NaN);
    let alive = false;
    try {
      if (holder > 0) {
        process.kill(holder, 0);
        alive = true;
      }
    } catch {
      alive = false;
    }
    if (alive) throw new Error(`another e2e run (pid ${holder}) holds ${path}; wait for it or remove the file`);
    await fs.writeFile(path, String(process.pid));
    return path;
  }
}

async function assertions(checks: Checks, client: SshClient, vm: Vm, status: RunResult,
  certs: { jdoeCert: Credential; srheaCert: Credential }): Promise<void> {
  const port = vm.sshPort;
  const ssh = (user: string, cred: Credential, command: string, input?: string) =>
    client.ssh(port, user, cred, command, { input });

  await checks.check('cloud-init finished with status done', () => {
    assert(/^status: done$/m.test(status.stdout), `cloud-init status --wait --long: ${show(status)}`);
  });

  // logins that must work, each landing in the right account.
  for (const [u, cert] of [[SRHEA, certs.srheaCert], [JDOE, certs.jdoeCert]] as const) {
    await checks.check(`certificate for principal ${u.principal} logs in as ${u.unix}`, async () => {
      const r = await ssh(u.unix, cert, 'id -un');
      assert(r.code === 0 && r.stdout.trim() === u.unix, show(r));
    });
  }

  // logins that must be refused, tried side by side to save time.
  const refusals: [string, string, () => Promise<Credential>][] = [
    ['wrong principal: srhea\'s certificate as jdoe', JDOE.unix, async () => certs.srheaCert],
    ['unmapped principal: a certificate for "jdoe" (the Unix name, not jane.doe)', JDOE.unix,
      () => client.cert('unmapped', { principal: JDOE.unix })],
    ['certificate from another CA', SRHEA.unix, () => client.cert('other-ca', { principal: SRHEA.principal, ca: client.otherCa })],
    ['expired certificate', SRHEA.unix, () => client.cert('expired', { principal: SRHEA.principal, validity: '20200101:20200102' })],
    ['root, with a CA-signed certificate for principal root', 'root', () => client.cert('root', { principal: 'root' })],
  ];
  const results = await Promise.all(refusals.map(async ([, user, cred]) => ssh(user, await cred(), 'id -un')));
  for (const [i, [name]] of refusals.entries()) {
    await checks.check(`refused: ${name}`, () => {
      assert(wasRefused(results[i]), `expected "Permission denied", got ${show(results[i])}`);
    });
  }

  await checks.check('sudo -n true works for jdoe (sudo: true) and not for srhea', async () => {
    const [j, s] = await Promise.all([
      ssh(JDOE.unix, certs.jdoeCert, 'sudo -n true'),
      ssh(SRHEA.unix, certs.srheaCert, 'sudo -n true'),
    ]);
    assert(j.code === 0, `jdoe: ${show(j)}`);
    assert(s.code !== 0 && /password is required|not allowed|may not run sudo/.test(s.stderr), `srhea: ${show(s)}`);
  });

  // the key alone, even listed in the user's own authorized_keys: only certificates open accounts.
  await checks.check('refused: plain key, even listed in ~/.ssh/authorized_keys', async () => {
    const pub = readFileSync(`${client.key}.pub`, 'utf8').trim();
    const home = `/home/${SRHEA.unix}/.ssh`;
    const put = await ssh(JDOE.unix, certs.jdoeCert, 'sudo -n sh -s', [
      'set -e', `install -d -m 0700 -o ${SRHEA.unix} -g ${SRHEA.unix} ${home}`,
      `echo '${pub}' > ${home}/authorized_keys`,
      `chown ${SRHEA.unix}:${SRHEA.unix} ${home}/authorized_keys`, `chmod 0600 ${home}/authorized_keys`,
    ].join('\n'));
    assert(put.code === 0, `writing authorized_keys: ${show(put)}`);
    const r = await ssh(SRHEA.unix, { kind: 'key' }, 'id -un');
    assert(wasRefused(r), `expected "Permission denied", got ${show(r)}`);
  });

  const factsRun = await ssh(JDOE.unix, certs.jdoeCert, 'sudo -n sh -s', FACTS_SCRIPT);
  const facts = sections(factsRun.stdout);
  const fact = (name: string) => {
    const v = facts.get(name);
    if (v === undefined) throw new Error(`no "${name}" in the VM's facts: ${show(factsRun)}`);
    return v;
  };

  await checks.check('users exist with bash, their email as gecos, locked passwords and principals files', () => {
    const passwd = fact('passwd');
    for (const u of [SRHEA, JDOE]) {
      const line = passwd.split('\n').find((l) => l.startsWith(`${u.unix}:`));
      assert(line, `no passwd entry for ${u.unix}:\n${passwd}`);
      const f = line.split(':');
      assert(f[4] === u.email && f[6] === '/bin/bash', `passwd entry for ${u.unix}: ${line}`);
    }
    assert(/^srhea !$/m.test(fact('shadow')) && /^jdoe !$/m.test(fact('shadow')), `passwords not locked:\n${fact('shadow')}`);
    const principals = fact('principals');
    assert(/^srhea: srhea$/m.test(principals) && /^jdoe: jane\.doe$/m.test(principals), `principals files:\n${principals}`);
    assert(fact('ca').trim() === readFileSync(`${client.ca}.pub`, 'utf8').trim(), `ca.pub: ${fact('ca')}`);
  });

  // cloud-init 22.4 applies `ssh_pwauth: false` by rewriting 50-cloud-init.conf itself, so put
  // back what DigitalOcean's image says (and what cloud-init writes for `ssh_pwauth: true` in
  // vendor data), restart sshd, and check that the drop-in still decides.
  log(`note: cloud-init left 50-cloud-init.conf as: ${JSON.stringify(fact('cloud-init-conf'))}`);
  await checks.check('sshd -T: our drop-in wins over 50-cloud-init.conf saying PasswordAuthentication yes', async () => {
    const dropins = fact('dropins').split('\n');
    assert(dropins.includes('10-cloudflare-access.conf'), `drop-ins: ${dropins.join(' ')}`);
    const r = await ssh(JDOE.unix, certs.jdoeCert, 'sudo -n sh -s', [
      'set -e',
      'echo "PasswordAuthentication yes" > /etc/ssh/sshd_config.d/50-cloud-init.conf',
      'systemctl restart ssh.service',
      'sshd -T',
    ].join('\n'));
    assert(r.code === 0, `rewriting 50-cloud-init.conf and restarting ssh: ${show(r)}`);
    const t = r.stdout.split('\n');
    const want = [
      'passwordauthentication no', 'kbdinteractiveauthentication no', 'permitrootlogin no',
      'pubkeyauthentication yes', 'trustedusercakeys /etc/ssh/ca.pub',
      'authorizedprincipalsfile /etc/ssh/auth_principals/%u', 'authorizedkeysfile none',
    ];
    const missing = want.filter((w) => !t.includes(w));
    assert(missing.length === 0, `sshd -T lacks: ${missing.join('; ')}\n${t.filter((l) => /auth|root|trusted/i.test(l)).join('\n')}`);
  });

  await checks.check('cloudflared came from the signed local repository through signed-by', () => {
    const source = fact('apt-source');
    assert(/^deb \[signed-by=\/usr\/share\/keyrings\/cloudflared-archive-keyring\.(gpg|asc)\] file:\/\/\/srv\/apt e2e main$/m.test(source),
      `sources.list.d/cloudflared.list: ${source}`);
    assert(/^cloudflared-archive-keyring\.(gpg|asc)$/m.test(fact('keyring')), `keyrings: ${fact('keyring')}`);
    assert(/^cloudflared 0\.0\.0-e2e1 install ok installed$/m.test(fact('dpkg')), `dpkg: ${fact('dpkg')}`);
    assert(/file:\/srv\/apt e2e\/main/.test(fact('policy')), `apt-cache policy: ${fact('policy')}`);
    assert(/cdktf-access-droplet: done/.test(fact('setup-log')), `setup log:\n${fact('setup-log')}`);
  });

  await checks.check('cloudflared-access.service is active and enabled, ready by sd_notify, as a dynamic user', () => {
    assert(fact('active') === 'active', `is-active: ${fact('active')}\njournal:\n${fact('journal')}`);
    assert(fact('enabled') === 'enabled', `is-enabled: ${fact('enabled')}`);
    const show_ = fact('show');
    assert(/^Type=notify$/m.test(show_) && /^DynamicUser=yes$/m.test(show_), show_);
    assert(/^StatusText=stand-in tunnel up$/m.test(show_), `no READY/STATUS from the stand-in: ${show_}`);
    const uid = Number(fact('proc-uid'));
    assert(uid > 0, `cloudflared runs as uid ${fact('proc-uid')}`);
  });

  await checks.check('cloudflared got the token from its environment file, not its command line', () => {
    const journal = fact('journal');
    assert(journal.includes(`TUNNEL_TOKEN set=yes value=${TUNNEL_TOKEN}`), `journal of cloudflared-access:\n${journal}`);
    assert(journal.includes('argv=["--no-autoupdate", "tunnel", "run"]'), `journal of cloudflared-access:\n${journal}`);
    assert(/tunnel\.env readable=no/.test(journal), `the service itself could read tunnel.env:\n${journal}`);
    assert(!fact('cmdline').includes(TUNNEL_TOKEN), `token on the command line: ${fact('cmdline')}`);
  });

  await checks.check('/etc/cloudflared-access/tunnel.env is 0600 root:root in a 0700 directory', () => {
    assert(fact('tunnel-env') === '600 root root', `tunnel.env: ${fact('tunnel-env')}`);
    assert(fact('tunnel-dir') === '700 root root', `/etc/cloudflared-access: ${fact('tunnel-dir')}`);
  });

  // a stand-in metadata service on 169.254.169.254 inside the VM: root still reads the user_data
  // there, a login user is refused by the guard the cloud-config installed.
  await checks.check('metadata guard: root reads 169.254.169.254, a login user is refused', async () => {
    const serve = await ssh(JDOE.unix, certs.jdoeCert, 'sudo -n sh -s', [
      'set -e',
      'systemctl is-active cdktf-metadata-guard.service',
      'ip addr add 169.254.169.254/32 dev lo 2>/dev/null || true',
      'mkdir -p /run/md/metadata/v1 && echo TUNNEL_TOKEN=stand-in > /run/md/metadata/v1/user-data',
      '(setsid python3 -m http.server 80 --bind 169.254.169.254 --directory /run/md >/dev/null 2>&1 &)',
      'for i in $(seq 50); do curl -s -o /dev/null --max-time 1 http://169.254.169.254/ && break; sleep 0.2; done',
      'curl -sS --max-time 5 http://169.254.169.254/metadata/v1/user-data',
    ].join('\n'));
    assert(serve.code === 0 && serve.stdout.includes('active') && serve.stdout.includes('TUNNEL_TOKEN=stand-in'),
      `root could not read the stand-in metadata service: ${show(serve)}`);
    const user = await ssh(SRHEA.unix, certs.srheaCert, 'curl -sS --max-time 5 http://169.254.169.254/metadata/v1/user-data; echo "rc=$?"');
    assert(/rc=7$/m.test(user.stdout) && !user.stdout.includes('TUNNEL_TOKEN'), `srhea (uid >= 1000) was not refused: ${show(user)}`);
  });

  // a real password on the account, so a refusal shows sshd offers no password method at all,
  // while 50-cloud-init.conf says PasswordAuthentication yes.
  await checks.check('refused: password login, even with the right password', async () => {
    const password = `e2e-${randomUUID()}`;
    const set = await ssh(JDOE.unix, certs.jdoeCert, 'sudo -n chpasswd', `${SRHEA.unix}:${password}\n`);
    assert(set.code === 0, `chpasswd: ${show(set)}`);
    const r = await client.ssh(port, SRHEA.unix, { kind: 'password', password }, 'id -un');
    assert(wasRefused(r), `expected "Permission denied", got ${show(r)}`);
    assert(offeredMethods(r) === 'publickey', `server offered ${offeredMethods(r)}, want only publickey`);
    assert((await client.askpassCalls()) === 0, 'ssh was asked for a password: the server offered one');
  });

  const failed = fact('failed-units');
  if (failed) log(`note: failed units in the VM:\n${failed}`);
  if (checks.failed > 0) {
    const indented = (name: string) => fact(name).split('\n').map((l) => `  ${l}`).join('\n');
    log(`sshd log lines:\n${indented('sshd-journal')}`);
    log(`/var/log/cloud-init-output.log, last 40 lines:\n${indented('cloud-init-output')}`);
  }
}

main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`e2e: harness error: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.stdout.write('e2e: 0 passed, 1 failed\n');
  process.exit(1);
});
