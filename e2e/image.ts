import { existsSync, promises as fs, readFileSync } from 'fs';
import { join } from 'path';
import { APT_COMPONENT, APT_REPO_DIR, APT_SUITE, createRepository, STANDIN_SOURCE, STANDIN_VERSION } from './apt';
import { hashOf, log, run, Timings } from './util';

/**
 * What goes into every image besides debootstrap's minbase: enough to boot under QEMU (kernel,
 * systemd, udev, ifupdown for the network config cloud-init writes), cloud-init, and what our
 * setup script calls (openssh-server, curl, gnupg for the signed-by key, sudo, ca-certificates,
 * nftables for the metadata guard). Then what DigitalOcean's images have and the metadata guard
 * must hold against: logind sessions for every login (libpam-systemd, so logins land in
 * user.slice as on a droplet), a user manager with its bus (dbus-user-session, for
 * `systemd-run --user`), and cron and at, whose jobs run in system services, outside user.slice.
 */
const COMMON_PACKAGES = [
  'systemd-sysv', 'udev', 'dbus', 'cloud-init', 'python3-cffi-backend', 'openssh-server',
  'linux-image-amd64', 'ifupdown', 'iproute2', 'sudo', 'gnupg', 'netbase',
  'ca-certificates', 'procps', 'curl', 'nftables',
  'libpam-systemd', 'dbus-user-session', 'cron', 'at',
];

/** A Debian release the test boots. */
export interface Distro {
  /** the name in the summary line and the cache, e.g. `debian-12`. */
  readonly name: string;
  /** debootstrap's suite. */
  readonly suite: string;
  readonly packages: readonly string[];
}

/**
 * The two releases that bracket the Ubuntu images droplets run: Debian 12 (cloud-init 22.4,
 * OpenSSH 9.2) and Debian 13 (cloud-init 25.1, OpenSSH 10.0). Each has a DHCP client for
 * cloud-init's fallback network config; trixie no longer ships isc-dhcp-client by default.
 */
export const DISTROS: readonly Distro[] = [
  { name: 'debian-12', suite: 'bookworm', packages: [...COMMON_PACKAGES, 'isc-dhcp-client'] },
  { name: 'debian-13', suite: 'trixie', packages: [...COMMON_PACKAGES, 'dhcpcd-base'] },
];

export function debootstrapArgs(distro: Distro): string[] {
  return ['--variant=minbase', `--include=${distro.packages.join(',')}`];
}

/** The image's disk size; mkfs.ext4 leaves the file sparse, so this costs only what is used. */
const DISK_SIZE = '3G';

/** A built image and the package source the test renders into the cloud-config. */
export interface Image {
  readonly distro: Distro;
  readonly dir: string;
  readonly disk: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly aptUrl: string;
  /** the repository's signing key in binary form (what Cloudflare publishes). */
  readonly aptKeyUrlBinary: string;
  /** the same key ASCII-armoured, for the setup script's other branch. */
  readonly aptKeyUrlArmoured: string;
  readonly aptSuite: string;
  readonly aptComponent: string;
  readonly standinVersion: string;
  /** a copy, on the host, of the image's `/srv/apt`, to publish newer packages from (copy it first). */
  readonly aptRepository: string;
  /** the secret key that signs that repository; it is not in the image. */
  readonly aptSigningKey: string;
}

function describeImage(distro: Distro, dir: string): Image {
  return {
    distro,
    dir,
    disk: join(dir, 'disk.img'),
    kernel: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initrd.img'),
    aptUrl: `file://${APT_REPO_DIR}`,
    aptKeyUrlBinary: `file://${APT_REPO_DIR}/cloudflared-e2e.gpg`,
    aptKeyUrlArmoured: `file://${APT_REPO_DIR}/cloudflared-e2e.asc`,
    aptSuite: APT_SUITE,
    aptComponent: APT_COMPONENT,
    standinVersion: STANDIN_VERSION,
    aptRepository: join(dir, 'apt-repository'),
    aptSigningKey: join(dir, 'apt-signing-key.asc'),
  };
}

/** The cache keys: one for the debootstrapped tree, one for the finished image built from it. */
export function cacheKeys(distro: Distro): { rootfs: string; image: string } {
  const rootfs = hashOf('rootfs-v1', distro.suite, ...debootstrapArgs(distro));
  // this file and the repository code are the image-build code: any change to them rebuilds the
  // image (not the rootfs).
  const image = hashOf('image-v2', rootfs, readFileSync(__filename), readFileSync(join(__dirname, 'apt.ts')),
    readFileSync(STANDIN_SOURCE), DISK_SIZE);
  return { rootfs, image };
}

async function write(root: string, path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const full = join(root, path);
  await fs.mkdir(join(full, '..'), { recursive: true, mode: 0o755 });
  await fs.writeFile(full, content);
  await fs.chmod(full, mode);
}

/**
 * Turns a copy of the debootstrapped tree into what a DigitalOcean-like droplet boots; the apt
 * repository at `repository` (with its key in `signingKey`) goes into it as /srv/apt.
 */
async function customise(root: string, work: string, repository: string, signingKey: string): Promise<void> {
  // the VM has no network: Debian's mirror would only make apt-get update fail.
  await write(root, 'etc/apt/sources.list', '# the e2e VM is offline; cloud-init adds the local stand-in repository\n');
  await fs.rm(join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  await fs.mkdir(join(root, 'var/lib/apt/lists/partial'), { recursive: true, mode: 0o755 });
  // what DigitalOcean's images ship: our drop-in has to win over it.
  await write(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf', 'PasswordAuthentication yes\n');
  // makes the root refusal meaningful: a CA-signed certificate for "root" would pass the
  // principals check, so only PermitRootLogin no stands in its way.
  await write(root, 'etc/ssh/auth_principals/root', 'root\n');
  // cloud images come without host keys; cloud-init makes them at first boot.
  for (const f of await fs.readdir(join(root, 'etc/ssh'))) {
    if (f.startsWith('ssh_host_')) await fs.rm(join(root, 'etc/ssh', f));
  }
  // what a droplet's image says: ConfigDrive first, as cloud-init's default list and
  // DigitalOcean's custom-image docs have it, then DigitalOcean, found from the SMBIOS vendor the
  // VM is given (skipping the others saves boot time). ds-identify finds the config drive by its
  // label, config-2: with one attached ConfigDrive wins, without one DigitalOcean reads the
  // stand-in metadata service. One image serves both boot paths.
  // The locale is what Ubuntu's cloud images default to: Debian's locale-gen ignores its
  // argument, so cloud-init's default en_US.UTF-8 fails on an image whose /etc/locale.gen
  // enables nothing.
  // The disk is a bare ext4 file system without a partition table, already its full size:
  // cloud-init 25's resizefs fails on it (status: error) where a droplet's partitioned disk grows.
  await write(root, 'etc/cloud/cloud.cfg.d/01_e2e.cfg',
    'datasource_list: [ ConfigDrive, DigitalOcean, None ]\nlocale: C.UTF-8\nresize_rootfs: false\ngrowpart:\n  mode: "off"\n');
  // a user's manager (user@UID.service, which every login with pam_systemd needs) stays up
  // between the checks' logins instead of stopping 10 s after each and starting again under TCG.
  await write(root, 'etc/systemd/logind.conf.d/50-e2e.conf', '[Login]\nUserStopDelaySec=600\n');
  await write(root, 'etc/fstab', '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  await write(root, 'etc/hostname', 'localhost\n');
  await createRepository(repository, signingKey, work);
  await run('cp', ['-a', `${repository}/.`, join(root, APT_REPO_DIR)]);
}

/** Where debootstrap fetches from, and apt's HTTP proxy when the machine has one. */
export interface MirrorConfig {
  readonly mirror: string;
  readonly httpProxy?: string;
}

async function debootstrap(cache: string, distro: Distro, key: string, source: MirrorConfig): Promise<string> {
  const dir = join(cache, `rootfs-${key}`);
  const partial = `${dir}.partial`;
  await fs.rm(partial, { recursive: true, force: true });
  const logFile = join(cache, `debootstrap-${distro.name}.log`);
  const args = [...debootstrapArgs(distro), distro.suite, partial, source.mirror];
  const env = source.httpProxy && !process.env.http_proxy ? { ...process.env, http_proxy: source.httpProxy } : process.env;
  log(`debootstrap ${args.join(' ')}${env.http_proxy ? ` (http_proxy ${env.http_proxy})` : ''} (log: ${logFile})`);
  try {
    const r = await run('debootstrap', args, { timeoutMs: 20 * 60_000, allowFail: true, env });
    await fs.writeFile(logFile, r.stdout + r.stderr);
    if (r.code !== 0) {
      const debootstrapLog = join(partial, 'debootstrap/debootstrap.log');
      const detail = existsSync(debootstrapLog) ? readFileSync(debootstrapLog, 'utf8') : r.stdout + r.stderr;
      throw new Error(`debootstrap failed (exit ${r.code}):\n${detail.trimEnd().split('\n').slice(-25).join('\n')}`);
    }
  } catch (e) {
    await fs.rm(partial, { recursive: true, force: true });
    throw e;
  }
  await fs.rename(partial, dir);
  return dir;
}

/** The cache entries the given releases use; everything else under `cache` is stale. */
export function cacheEntries(distros: readonly Distro[]): string[] {
  return distros.flatMap((d) => {
    const keys = cacheKeys(d);
    return [`image-${keys.image}`, `rootfs-${keys.rootfs}`];
  });
}

/**
 * How long a cache entry no current release uses is kept: the cache is shared by the checkouts
 * of one machine, and another branch's images are not stale while that branch is being worked on.
 */
export const STALE_AFTER_MS = 2 * 24 * 3600_000;

/** Whether process `pid` still runs. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes cache entries no current release uses and nobody used for {@link STALE_AFTER_MS}
 * (entries are marked used by their modification time), and the tmp- directories of runs that
 * are gone.
 */
export async function prune(cache: string, keep: string[], now = Date.now()): Promise<void> {
  for (const entry of await fs.readdir(cache)) {
    if (!/^(rootfs|image|tmp)-/.test(entry) || keep.includes(entry)) continue;
    const path = join(cache, entry);
    const tmpOwner = /^tmp-(\d+)-/.exec(entry)?.[1];
    const stale = tmpOwner !== undefined ? !alive(Number(tmpOwner))
      : now - (await fs.stat(path)).mtimeMs > STALE_AFTER_MS;
    if (stale) {
      log(`removing stale cache entry ${entry}`);
      await fs.rm(path, { recursive: true, force: true });
    }
  }
}

/** Marks a cache entry as used now, for {@link prune}. */
async function markUsed(path: string): Promise<void> {
  const now = new Date();
  await fs.utimes(path, now, now);
}

/**
 * Returns the test image, building it when the cache has none for the current inputs.
 *
 * The debootstrapped tree is cached on its own (`rootfs-KEY`), so changing the stand-in package
 * or the customisation rebuilds the image in seconds instead of running debootstrap again.
 */
export async function ensureImage(cache: string, distro: Distro, timings: Timings,
  source: () => Promise<MirrorConfig>): Promise<Image> {
  await fs.mkdir(cache, { recursive: true });
  const keys = cacheKeys(distro);
  const imageDir = join(cache, `image-${keys.image}`);
  const rootfsDir = join(cache, `rootfs-${keys.rootfs}`);
  const work = join(cache, `tmp-${process.pid}-${distro.name}`);
  if (existsSync(rootfsDir)) await markUsed(rootfsDir);
  if (existsSync(join(imageDir, 'manifest.json'))) {
    await markUsed(imageDir);
    timings.skipped(`${distro.name} debootstrap`, `cached image-${keys.image}`);
    timings.skipped(`${distro.name} image`, 'cached');
    return describeImage(distro, imageDir);
  }

  if (existsSync(rootfsDir)) {
    timings.skipped(`${distro.name} debootstrap`, `cached rootfs-${keys.rootfs}`);
  } else {
    // the mirror is looked up only when needed: a warm cache runs without any apt source.
    const mirror = await source();
    await timings.time(`${distro.name} debootstrap`, () => debootstrap(cache, distro, keys.rootfs, mirror));
  }

  await timings.time(`${distro.name} image`, async () => {
    const root = join(work, 'root');
    const out = join(work, 'out');
    await fs.mkdir(out, { recursive: true });
    try {
      await run('cp', ['-a', '--reflink=auto', rootfsDir, root]);
      const built = describeImage(distro, out);
      await fs.mkdir(join(root, APT_REPO_DIR), { recursive: true, mode: 0o755 });
      await customise(root, work, built.aptRepository, built.aptSigningKey);
      const boot = await fs.readdir(join(root, 'boot'));
      const kernel = boot.filter((f) => /^vmlinuz-/.test(f)).sort().pop();
      const initrd = kernel && `initrd.img-${kernel.slice('vmlinuz-'.length)}`;
      if (!kernel || !initrd || !boot.includes(initrd)) {
        throw new Error(`no kernel with its initrd in ${rootfsDir}/boot: ${boot.join(' ')}`);
      }
      await fs.copyFile(join(root, 'boot', kernel), join(out, 'vmlinuz'));
      await fs.copyFile(join(root, 'boot', initrd), join(out, 'initrd.img'));
      // mkfs.ext4 -d copies the tree with owners and modes intact, without loop devices or mounts.
      await run('mkfs.ext4', ['-q', '-F', '-L', 'e2e-root', '-d', root, join(out, 'disk.img'), DISK_SIZE]);
      await fs.writeFile(join(out, 'manifest.json'), `${JSON.stringify({
        key: keys.image, rootfs: keys.rootfs, built: new Date().toISOString(), distro: distro.name, suite: distro.suite,
        debootstrapArgs: debootstrapArgs(distro), kernel, initrd, standinVersion: STANDIN_VERSION,
      }, null, 2)}\n`);
      await fs.rename(out, imageDir);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  });
  return describeImage(distro, imageDir);
}
