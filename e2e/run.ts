/**
 * End-to-end test (issues #4, #13, #17, #19): for each Debian release in {@link DISTROS}, boots
 * the image twice under QEMU, the two ways a droplet boots (SMBIOS vendor DigitalOcean, a
 * stand-in metadata service at 169.254.169.254): through cloud-init's DigitalOcean datasource,
 * which reads the cloud-config that `renderCloudInit` makes as user_data from the metadata
 * service, and through its ConfigDrive datasource, which reads it from a config drive. Then it
 * checks from the host that an Access-style SSH certificate logs in and everything else is
 * refused, that the cloudflared service runs with its token, that no process of an unprivileged
 * user reaches the metadata service or the config drive, and that a login is no pivot. After
 * each boot it prints
 * `e2e: <image>: datasource <name>, cloud-init <version>, OpenSSH <version>, <n> passed, <m> failed`.
 *
 * Usage: `npm run test:e2e`. Needs root and: debootstrap qemu-system-x86 e2fsprogs genisoimage
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
 * - `E2E_PARALLEL` (default 1): boot the two VMs of an image side by side (`0`: one after the other).
 * - `E2E_VM_CPUS` (default 1 side by side, 2 one after the other), `E2E_QEMU_CPU` (default qemu64):
 *   each guest's CPUs and CPU model.
 * - `E2E_BOOT_PATHS` (default `DigitalOcean,ConfigDrive`): which boot paths to run.
 */
import { randomBytes, randomInt, randomUUID } from 'crypto';
import { accessSync, constants, existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { delimiter, join } from 'path';
import { renderCloudInit } from '../lib/cloud-init';
import { checkExtraCloudConfig, composeUserData } from '../lib/user-data';
import { publishStandin } from './apt';
import { assertions, dropletTags, EXTRA_CLOUD_CONFIG, JDOE, Share, shareOf, SRHEA, Subject, USERS } from './assertions';
import { Checks, ImageFacts, show, summaryLine } from './checks';
import { buildConfigDrive } from './configdrive';
import { cacheEntries, Distro, DISTROS, ensureImage, Image, prune } from './image';
import { Droplet, MetadataService } from './metadata';
import { aptHttpProxy, resolveMirror } from './mirror';
import { SshClient } from './ssh';
import { CommandError, log, run, RunResult, sleep, Timings } from './util';
import { BootPath, Vm } from './vm';

const REPO_ROOT = join(__dirname, '..');
const CACHE_DIR = process.env.E2E_CACHE_DIR ?? join(REPO_ROOT, '.e2e-cache');
const IN_CI = process.env.CI === 'true';
const TIMEOUT_SEC = Number(process.env.E2E_TIMEOUT_SEC ?? 2400);
const BOOT_TIMEOUT_MS = 8 * 60_000;
const CLOUD_INIT_TIMEOUT_MS = 8 * 60_000;
/** the two boots of an image side by side, one vCPU each, or one after the other with two. */
const PARALLEL = process.env.E2E_PARALLEL !== '0';
const VM_CPUS = Number(process.env.E2E_VM_CPUS ?? (PARALLEL ? 1 : 2));
const VM_MEMORY_MB = 1024;
const BOOT_PATHS: readonly BootPath[] = ['DigitalOcean', 'ConfigDrive'];

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
  ['genisoimage', 'genisoimage'],
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

/** The boot paths to run: both, or those named in E2E_BOOT_PATHS. */
function selectedBootPaths(): BootPath[] {
  const names = process.env.E2E_BOOT_PATHS?.split(',').map((n) => n.trim()).filter(Boolean);
  if (!names) return [...BOOT_PATHS];
  const unknown = names.filter((n) => !BOOT_PATHS.includes(n as BootPath));
  if (unknown.length > 0) throw new Error(`E2E_BOOT_PATHS names ${unknown.join(', ')}; known: ${BOOT_PATHS.join(', ')}`);
  return BOOT_PATHS.filter((p) => names.includes(p));
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
const current: { vms: Set<Vm>; scratch: Set<string>; lock?: string } = { vms: new Set(), scratch: new Set() };

/**
 * Boots one image through one boot path and runs the checks on it; every failure ends up counted
 * in `checks`. Each run has its own keys, token, droplet and metadata service: two runs of one
 * image share only the image (its disk is a read-only backing file, `-snapshot`).
 */
async function testRun(image: Image, path: BootPath, share: Share, timings: Timings, checks: Checks, summaries: string[]): Promise<ImageFacts> {
  const name = image.distro.name;
  const label = `${name} ${path}`;
  const say = (m: string) => checks.log(m);
  const dir = mkdtempSync(join(tmpdir(), `access-droplet-e2e-${name}-${path}-`));
  current.scratch.add(dir);
  let facts: ImageFacts = {};
  let vm: Vm | undefined;
  let sharing: SshClient | undefined;
  try {
    const token = tunnelToken();
    const keyUrl = process.env.E2E_APT_KEY === 'asc' ? image.aptKeyUrlArmoured : image.aptKeyUrlBinary;
    const client = await SshClient.create(dir);
    sharing = client;
    // ours, plus a user's extraCloudConfig as the second MIME part, as AccessDroplet makes it.
    checkExtraCloudConfig('extraCloudConfig', EXTRA_CLOUD_CONFIG);
    const userData = composeUserData(renderCloudInit({
      caPublicKey: await client.caPublicKey(),
      tunnelToken: token,
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
      // the people who may log in: not in user_data, but in the tags, as AccessDroplet gives them.
      tags: dropletTags(USERS),
    };
    const uuid = randomUUID();
    const metadata = await MetadataService.create(join(dir, 'metadata'), droplet);
    const configDrive = path === 'ConfigDrive' ? await buildConfigDrive(dir, droplet, uuid) : undefined;
    say(`droplet ${droplet.id}, uuid ${uuid}, mac ${droplet.mac}${configDrive ? `, config drive ${configDrive}` : ''}, apt source in the VM: ${image.aptUrl} ${image.aptSuite} ${image.aptComponent}, key ${keyUrl}`);

    const certs = {
      jdoe: await client.cert('jdoe', { principal: JDOE.principal }),
      srhea: await client.cert('srhea', { principal: SRHEA.principal }),
    };

    await timings.time(`${label} boot-to-ssh`, async () => {
      vm = await Vm.boot(image, metadata, droplet, dir, { cpus: VM_CPUS, memoryMb: VM_MEMORY_MB, uuid, configDrive });
      current.vms.add(vm);
      say(`qemu pid ${vm.pid}, ${VM_CPUS} vCPU, ssh forwarded from 127.0.0.1:${vm.sshPort}, console ${vm.consoleLog}`);
      const until = Date.now() + BOOT_TIMEOUT_MS;
      let last: RunResult | undefined;
      for (;;) {
        if (vm.exited) throw new Error(`qemu ${vm.exited} before ssh came up`);
        try {
          last = await client.ssh(vm.sshPort, JDOE.unix, certs.jdoe, 'true', { timeoutMs: 90_000, penaltyWaitMs: 0 });
          if (last.code === 0) return;
        } catch (e) {
          // a login that hangs while the guest is still busy booting (on a loaded machine, the
          // first one starts jdoe's user manager under TCG) is tried again, within the boot timeout.
          if (!(e instanceof CommandError)) throw e;
          last = e.result;
        }
        if (Date.now() > until) {
          throw new Error(`no certificate login within ${BOOT_TIMEOUT_MS / 1000} s; last attempt: ${show(last)}`);
        }
        await sleep(2000);
      }
    });

    const status = await timings.time(`${label} cloud-init done`, () =>
      // cloud-init 22.4's `status --wait` returns as soon as any stage has an error, before the
      // final stage (our setup script) has run; result.json appears only when that stage ends.
      client.ssh(vm!.sshPort, JDOE.unix, certs.jdoe,
        'while [ ! -e /run/cloud-init/result.json ]; do sleep 2; done; cloud-init status --wait --long',
        { timeoutMs: CLOUD_INIT_TIMEOUT_MS }));

    const publishCloudflared = publisher(image, dir, (input) =>
      client.ssh(vm!.sshPort, JDOE.unix, certs.jdoe, `base64 -d | sudo -n tar -x -C ${image.aptUrl.replace(/^file:\/\//, '')}`, { input }));
    facts = await timings.time(`${label} checks`, () => assertions({
      image: name, checks, client, sshPort: vm!.sshPort, status, certs, metadata, droplet, tunnelToken: token, bootPath: path, uuid,
      publishCloudflared, share, summaries,
    }));
    if (client.penalties > 0) say(`sshd shut out ${client.penalties} connection attempts after failed logins (PerSourcePenalties); each was retried`);
  } catch (e) {
    checks.fail(e instanceof Error ? e.message : String(e));
  } finally {
    sharing?.close();
    if (checks.failed > 0 && vm) say(`serial console, last 80 lines (${vm.consoleLog}):\n${vm.consoleTail(80)}`);
    await vm?.stop();
    if (vm) current.vms.delete(vm);
    if (checks.failed > 0 || process.env.E2E_KEEP === '1') {
      say(`scratch directory kept: ${dir}`);
    } else {
      await fs.rm(dir, { recursive: true, force: true });
    }
    current.scratch.delete(dir);
  }
  return facts;
}

/**
 * The run's `publishCloudflared`: adds the stand-in package of a version to a copy of the image's
 * repository (made on first use, in the run's scratch directory), re-signs it on the host, and
 * unpacks what changed into the VM's repository as root (`push` runs a command with the archive,
 * base64, on its stdin).
 */
function publisher(image: Image, dir: string, push: (input: string) => Promise<RunResult>): Subject['publishCloudflared'] {
  const repo = join(dir, 'apt-repository');
  return async (version, options = {}) => {
    if (!existsSync(repo)) await run('cp', ['-a', image.aptRepository, repo]);
    const archive = await publishStandin(repo, image.aptSigningKey, version, dir, options);
    const r = await push(archive.toString('base64'));
    if (r.code !== 0) throw new Error(`publishing cloudflared ${version} in the VM: ${show(r)}`);
  };
}

/**
 * Both boots of one image, side by side or one after the other; a summary line for each, and the
 * lines of the checks it ran that have their own (live accounts, the cloudflared update).
 */
async function testImage(image: Image, paths: BootPath[], timings: Timings): Promise<Result[]> {
  const one = async (path: BootPath): Promise<Result> => {
    const checks = new Checks(undefined, `${image.distro.name} ${path}`);
    const extra: string[] = [];
    const facts = await testRun(image, path, shareOf(path, paths), timings, checks, extra);
    return { checks, lines: [summaryLine(image.distro.name, facts, checks), ...extra] };
  };
  if (PARALLEL) return Promise.all(paths.map(one));
  const results: Result[] = [];
  for (const path of paths) results.push(await one(path));
  return results;
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

  const cleanup = () => current.vms.forEach((vm) => vm.kill());
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
    for (const vm of current.vms) log(`serial console of ${vm.consoleLog} (last 60 lines):\n${vm.consoleTail(60)}`);
    cleanup();
    if (current.lock) rmSync(current.lock, { force: true });
    for (const dir of current.scratch) log(`scratch directory kept: ${dir}`);
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
    const paths = selectedBootPaths();
    log(`boot paths ${paths.join(', ')}, ${PARALLEL ? 'side by side' : 'one after the other'}, ${VM_CPUS} vCPU each`);
    await fs.mkdir(CACHE_DIR, { recursive: true });
    current.lock = await takeLock(join(CACHE_DIR, 'lock'));
    await prune(CACHE_DIR, cacheEntries(DISTROS));
    let source: Promise<{ mirror: string; httpProxy?: string }> | undefined;
    const mirror = () => {
      source ??= (async () => {
        const { mirror: m, from } = resolveMirror();
        const found = { mirror: m, httpProxy: await aptHttpProxy() };
        log(`debian mirror ${m} (from ${from})${found.httpProxy ? `, apt's http proxy ${found.httpProxy}` : ''}`);
        return found;
      })();
      return source;
    };
    // every image is built at once, ahead of the boots: on a cold cache both debootstraps (much
    // of it waiting on the mirror) run side by side, and the slower one beside the VMs of the
    // release whose image was ready first.
    const images = distros.map((distro) => ensureImage(CACHE_DIR, distro, timings, mirror));
    // a failure is reported with its release below, not as an unhandled rejection now.
    for (const image of images) image.catch(() => undefined);
    // the releases boot in the order their images are ready, one release's boots at a time.
    const pending = new Map(images.map((image, i) => [i, image.then(() => i, () => i)]));
    const done: Result[][] = [];
    while (pending.size > 0) {
      const i = await Promise.race(pending.values());
      pending.delete(i);
      const distro = distros[i];
      let results: Result[];
      try {
        results = await testImage(await images[i], paths, timings);
      } catch (e) {
        const checks = new Checks(undefined, distro.name);
        checks.fail(`${distro.name}: ${e instanceof Error ? e.message : String(e)}`);
        results = [{ checks, lines: [summaryLine(distro.name, {}, checks)] }];
      }
      for (const { checks, lines } of results) {
        count(checks);
        for (const line of lines) log(line);
      }
      done[i] = results;
    }
    // the summary lines at the end in release order, whatever order the releases ran in.
    for (const results of done) for (const { lines } of results ?? []) summaries.push(...lines);
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

/** One boot's checks and its summary lines. */
interface Result {
  readonly checks: Checks;
  readonly lines: string[];
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
