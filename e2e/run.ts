/**
 * End-to-end test (issues #4, #13): for each Debian release in {@link DISTROS}, boots a VM
 * under QEMU the way a droplet boots (SMBIOS vendor DigitalOcean, a stand-in metadata service at
 * 169.254.169.254 serving the cloud-config that `renderCloudInit` makes as user_data), then
 * checks from the host that an Access-style SSH certificate logs in and everything else is
 * refused, that the cloudflared service runs with its token, and that a login reaches neither
 * the metadata service nor anything through a forward. After each image it prints
 * `e2e: <image>: datasource <name>, cloud-init <version>, OpenSSH <version>, <n> passed, <m> failed`.
 *
 * Usage: `npm run test:e2e`. Needs root and: debootstrap qemu-system-x86 e2fsprogs
 * openssh-client gnupg python3. Environment:
 * - `CI=true`: a missing tool fails the run instead of skipping it.
 * - `E2E_CACHE_DIR` (default `.e2e-cache/`): where the built images are kept between runs.
 * - `E2E_DEBIAN_MIRROR` (default: the first Debian archive in the machine's apt sources):
 *   debootstrap's mirror.
 * - `E2E_IMAGES` (default `debian-12,debian-13`): which releases to boot.
 * - `E2E_SKIP`: a regular expression; checks whose name matches are listed as skipped.
 * - `E2E_APT_KEY=asc`: hand the VM the ASCII-armoured repository key instead of the binary one.
 * - `E2E_TIMEOUT_SEC` (default 2400): the whole run is abandoned after this long.
 * - `E2E_KEEP=1`: keep the scratch directories (metadata, console log, keys) even on success.
 * - `E2E_VM_CPUS` (default 2), `E2E_QEMU_CPU` (default max): the guest's CPUs and CPU model.
 */
import { randomBytes, randomInt, randomUUID } from 'crypto';
import { accessSync, constants, existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { renderCloudInit } from '../lib/cloud-init';
import { checkExtraCloudConfig, composeUserData } from '../lib/user-data';
import { EXTRA_CLOUD_CONFIG } from './assertions';
import { assertions, JDOE, SRHEA, USERS } from './assertions';
import { Checks, ImageFacts, show, summaryLine } from './checks';
import { cacheEntries, Distro, DISTROS, ensureImage, Image, prune } from './image';
import { Droplet, MetadataService } from './metadata';
import { aptHttpProxy, resolveMirror } from './mirror';
import { SshClient } from './ssh';
import { log, RunResult, sleep, Timings } from './util';
import { Vm } from './vm';

const REPO_ROOT = join(__dirname, '..');
const CACHE_DIR = process.env.E2E_CACHE_DIR ?? join(REPO_ROOT, '.e2e-cache');
const IN_CI = process.env.CI === 'true';
const TIMEOUT_SEC = Number(process.env.E2E_TIMEOUT_SEC ?? 2400);
const BOOT_TIMEOUT_MS = 8 * 60_000;
const CLOUD_INIT_TIMEOUT_MS = 8 * 60_000;
const VM_CPUS = Number(process.env.E2E_VM_CPUS ?? 2);
const VM_MEMORY_MB = 1024;

/** The tools the harness runs, with the Debian package that has each. */
const TOOLS: [string, string][] = [
  ['debootstrap', 'debootstrap'],
  ['qemu-system-x86_64', 'qemu-system-x86'],
  ['mkfs.ext4', 'e2fsprogs'],
  ['dpkg-deb', 'dpkg'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['gpg', 'gnupg'],
  ['gpgconf', 'gnupg'],
  ['gpgv', 'gpgv'],
  ['python3', 'python3'],
];

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

/** The releases to boot: all of them, or those named in E2E_IMAGES. */
function selectedDistros(): Distro[] {
  const names = process.env.E2E_IMAGES?.split(',').map((n) => n.trim()).filter(Boolean);
  if (!names) return [...DISTROS];
  const unknown = names.filter((n) => !DISTROS.some((d) => d.name === n));
  if (unknown.length > 0) {
    throw new Error(`E2E_IMAGES names ${unknown.join(', ')}; known images: ${DISTROS.map((d) => d.name).join(', ')}`);
  }
  return DISTROS.filter((d) => names.includes(d.name));
}

/** Shaped like a real tunnel token (base64 JSON), fresh each run so a stale VM cannot pass. */
function tunnelToken(): string {
  return Buffer.from(JSON.stringify({
    a: 'e2e0000000000000000000000000acct', t: randomUUID(), s: Buffer.from(randomUUID()).toString('base64'),
  })).toString('base64');
}

/** What is running right now, for the signal and timeout handlers. */
const current: { vm?: Vm; scratch?: string; lock?: string } = {};

/** Boots one image and runs the checks on it; every failure ends up counted in `checks`. */
async function testImage(image: Image, timings: Timings, checks: Checks): Promise<ImageFacts> {
  const name = image.distro.name;
  const dir = mkdtempSync(join(tmpdir(), `access-droplet-e2e-${name}-`));
  current.scratch = dir;
  let facts: ImageFacts = {};
  let vm: Vm | undefined;
  try {
    const token = tunnelToken();
    const keyUrl = process.env.E2E_APT_KEY === 'asc' ? image.aptKeyUrlArmoured : image.aptKeyUrlBinary;
    const client = await SshClient.create(dir);
    // ours, plus a user's extraCloudConfig as the second MIME part, as AccessDroplet makes it.
    checkExtraCloudConfig('extraCloudConfig', EXTRA_CLOUD_CONFIG);
    const userData = composeUserData(renderCloudInit({
      caPublicKey: await client.caPublicKey(),
      tunnelToken: token,
      users: USERS,
      cloudflaredAptUrl: image.aptUrl,
      cloudflaredAptKeyUrl: keyUrl,
      cloudflaredAptSuite: image.aptSuite,
      cloudflaredAptComponent: image.aptComponent,
    }), EXTRA_CLOUD_CONFIG);
    const droplet: Droplet = {
      id: randomInt(100_000_000, 999_999_999),
      hostname: 'access-droplet-e2e',
      region: 'fra1',
      userData,
      // DigitalOcean's vendor data is cloud-config too; this part makes /etc/hosts name the host.
      vendorData: '#cloud-config\nmanage_etc_hosts: true\n',
      publicKeys: [readFileSync(`${client.key}.pub`, 'utf8').trim()],
      mac: `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`,
    };
    const metadata = await MetadataService.create(join(dir, 'metadata'), droplet);
    log(`${name}: droplet ${droplet.id}, mac ${droplet.mac}, apt source in the VM: ${image.aptUrl} ${image.aptSuite} ${image.aptComponent}, key ${keyUrl}`);

    const certs = {
      jdoe: await client.cert('jdoe', { principal: JDOE.principal }),
      srhea: await client.cert('srhea', { principal: SRHEA.principal }),
    };

    await timings.time(`${name} boot-to-ssh`, async () => {
      vm = await Vm.boot(image, metadata, droplet, dir, VM_CPUS, VM_MEMORY_MB);
      current.vm = vm;
      log(`qemu pid ${vm.pid}, ssh forwarded from 127.0.0.1:${vm.sshPort}, console ${vm.consoleLog}`);
      const until = Date.now() + BOOT_TIMEOUT_MS;
      let last: RunResult | undefined;
      for (;;) {
        if (vm.exited) throw new Error(`qemu ${vm.exited} before ssh came up`);
        last = await client.ssh(vm.sshPort, JDOE.unix, certs.jdoe, 'true', { timeoutMs: 60_000, penaltyWaitMs: 0 });
        if (last.code === 0) return;
        if (Date.now() > until) {
          throw new Error(`no certificate login within ${BOOT_TIMEOUT_MS / 1000} s; last attempt: ${show(last)}`);
        }
        await sleep(2000);
      }
    });

    const status = await timings.time(`${name} cloud-init done`, () =>
      // cloud-init 22.4's `status --wait` returns as soon as any stage has an error, before the
      // final stage (our setup script) has run; result.json appears only when that stage ends.
      client.ssh(vm!.sshPort, JDOE.unix, certs.jdoe,
        'while [ ! -e /run/cloud-init/result.json ]; do sleep 2; done; cloud-init status --wait --long',
        { timeoutMs: CLOUD_INIT_TIMEOUT_MS }));

    facts = await timings.time(`${name} assertions`, () => assertions({
      checks, client, sshPort: vm!.sshPort, status, certs, metadata, droplet, tunnelToken: token,
    }));
    if (client.penalties > 0) log(`${name}: sshd shut out ${client.penalties} connection attempts after failed logins (PerSourcePenalties); each was retried`);
  } catch (e) {
    checks.fail(e instanceof Error ? e.message : String(e));
  } finally {
    if (checks.failed > 0 && vm) log(`${name}: serial console, last 80 lines (${vm.consoleLog}):\n${vm.consoleTail(80)}`);
    await vm?.stop();
    current.vm = undefined;
    if (checks.failed > 0 || process.env.E2E_KEEP === '1') {
      log(`${name}: scratch directory kept: ${dir}`);
    } else {
      await fs.rm(dir, { recursive: true, force: true });
    }
    current.scratch = undefined;
  }
  return facts;
}

async function main(): Promise<number> {
  const timings = new Timings();
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const count = (c: Checks) => {
    totals.passed += c.passed;
    totals.failed += c.failed;
    totals.skipped += c.skipped;
  };
  const closing = () => `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`;

  const cleanup = () => current.vm?.kill();
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
    if (current.vm) log(`serial console (last 60 lines):\n${current.vm.consoleTail(60)}`);
    cleanup();
    if (current.lock) rmSync(current.lock, { force: true });
    if (current.scratch) log(`scratch directory kept: ${current.scratch}`);
    totals.failed++;
    log(closing());
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

  const summaries: string[] = [];
  try {
    const distros = selectedDistros();
    await fs.mkdir(CACHE_DIR, { recursive: true });
    current.lock = await takeLock(join(CACHE_DIR, 'lock'));
    await prune(CACHE_DIR, cacheEntries(DISTROS));
    let source: { mirror: string; httpProxy?: string } | undefined;
    const mirror = async () => {
      if (!source) {
        const { mirror: m, from } = resolveMirror();
        source = { mirror: m, httpProxy: await aptHttpProxy() };
        log(`debian mirror ${m} (from ${from})${source.httpProxy ? `, apt's http proxy ${source.httpProxy}` : ''}`);
      }
      return source;
    };
    for (const distro of distros) {
      const checks = new Checks();
      let facts: ImageFacts = {};
      try {
        const image = await ensureImage(CACHE_DIR, distro, timings, mirror);
        facts = await testImage(image, timings, checks);
      } catch (e) {
        checks.fail(`${distro.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      count(checks);
      const line = summaryLine(distro.name, facts, checks);
      summaries.push(line);
      log(line);
    }
  } catch (e) {
    totals.failed++;
    log(`FAIL - ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    clearTimeout(deadline);
    if (current.lock) await fs.rm(current.lock, { force: true });
  }

  log(`timings:\n${timings.summary()}`);
  for (const line of summaries) log(line);
  log(closing());
  return totals.failed > 0 ? 1 : 0;
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

main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`e2e: harness error: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.stdout.write('e2e: 0 passed, 1 failed\n');
  process.exit(1);
});
