import { createHash } from 'crypto';
import { existsSync, promises as fs, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gzipSync } from 'zlib';
import { hashOf, log, run, Timings } from './util';

/**
 * What goes into every image besides debootstrap's minbase: enough to boot under QEMU (kernel,
 * systemd, udev, ifupdown for the network config cloud-init writes), cloud-init, and what our
 * setup script calls (openssh-server, curl, gnupg for the signed-by key, sudo, ca-certificates,
 * nftables for the metadata guard).
 */
const COMMON_PACKAGES = [
  'systemd-sysv', 'udev', 'dbus', 'cloud-init', 'python3-cffi-backend', 'openssh-server',
  'linux-image-amd64', 'ifupdown', 'iproute2', 'sudo', 'gnupg', 'netbase',
  'ca-certificates', 'procps', 'curl', 'nftables',
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

/** The local apt repository inside the image that stands in for pkg.cloudflare.com. */
export const APT_REPO_DIR = '/srv/apt';
export const APT_SUITE = 'e2e';
export const APT_COMPONENT = 'main';
const STANDIN_VERSION = '0.0.0-e2e1';
const STANDIN_SOURCE = join(__dirname, 'standin', 'cloudflared');

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
  };
}

/** The cache keys: one for the debootstrapped tree, one for the finished image built from it. */
export function cacheKeys(distro: Distro): { rootfs: string; image: string } {
  const rootfs = hashOf('rootfs-v1', distro.suite, ...debootstrapArgs(distro));
  // this file is the image-build code: any change to it rebuilds the image (not the rootfs).
  const image = hashOf('image-v1', rootfs, readFileSync(__filename), readFileSync(STANDIN_SOURCE), DISK_SIZE);
  return { rootfs, image };
}

async function write(root: string, path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  const full = join(root, path);
  await fs.mkdir(join(full, '..'), { recursive: true, mode: 0o755 });
  await fs.writeFile(full, content);
  await fs.chmod(full, mode);
}

function digest(algorithm: string, data: Buffer): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** Builds the stand-in cloudflared .deb into `out`. */
async function buildStandinDeb(work: string, out: string): Promise<void> {
  const pkg = join(work, 'cloudflared-pkg');
  await write(pkg, 'DEBIAN/control', [
    'Package: cloudflared',
    `Version: ${STANDIN_VERSION}`,
    'Architecture: amd64',
    'Maintainer: cdktf-access-droplet e2e <e2e@example.invalid>',
    'Depends: python3',
    'Section: net',
    'Priority: optional',
    'Description: stand-in for cloudflared in the end-to-end test',
    ' Records its arguments and environment in the journal and tells systemd it is ready.',
    '',
  ].join('\n'));
  await write(pkg, 'usr/bin/cloudflared', readFileSync(STANDIN_SOURCE), 0o755);
  // dpkg-deb insists on DEBIAN/ being 0755..0775 whatever the umask made it.
  await fs.chmod(join(pkg, 'DEBIAN'), 0o755);
  await fs.mkdir(join(out, '..'), { recursive: true, mode: 0o755 });
  await run('dpkg-deb', ['--root-owner-group', '--build', pkg, out]);
}

/**
 * Makes a signed apt repository at `root`/srv/apt holding the stand-in package, with the key that
 * signs it next to it. The key is made here and its secret half thrown away with the build.
 */
async function buildAptRepository(root: string, work: string): Promise<void> {
  const repo = join(root, APT_REPO_DIR);
  const debPath = `pool/${APT_COMPONENT}/c/cloudflared/cloudflared_${STANDIN_VERSION}_amd64.deb`;
  await buildStandinDeb(work, join(repo, debPath));
  const deb = readFileSync(join(repo, debPath));
  const control = (await run('dpkg-deb', ['-f', join(repo, debPath)])).stdout.trimEnd();
  const packages = Buffer.from([
    control,
    `Filename: ${debPath}`,
    `Size: ${deb.length}`,
    `MD5sum: ${digest('md5', deb)}`,
    `SHA256: ${digest('sha256', deb)}`,
    '',
  ].join('\n'));
  const indexDir = `${APT_COMPONENT}/binary-amd64`;
  const indexes: [string, Buffer][] = [
    [`${indexDir}/Packages`, packages],
    [`${indexDir}/Packages.gz`, gzipSync(packages)],
  ];
  const dists = join(repo, 'dists', APT_SUITE);
  for (const [name, data] of indexes) await write(dists, name, data);
  const release = [
    'Origin: cdktf-access-droplet-e2e',
    'Label: cloudflared stand-in',
    `Suite: ${APT_SUITE}`,
    `Codename: ${APT_SUITE}`,
    `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
    'Architectures: amd64',
    `Components: ${APT_COMPONENT}`,
    'Description: local stand-in for pkg.cloudflare.com/cloudflared',
    'MD5Sum:',
    ...indexes.map(([name, data]) => ` ${digest('md5', data)} ${data.length} ${name}`),
    'SHA256:',
    ...indexes.map(([name, data]) => ` ${digest('sha256', data)} ${data.length} ${name}`),
    '',
  ].join('\n');
  await write(dists, 'Release', release);

  // a short GNUPGHOME: gpg-agent's socket path must fit in sockaddr_un.
  const gnupg = await fs.mkdtemp(join(tmpdir(), 'e2e-gpg-'));
  const env = { ...process.env, GNUPGHOME: gnupg };
  const gpg = (args: string[]) => run('gpg', ['--batch', '--yes', '--no-tty', ...args], { env });
  try {
    await fs.chmod(gnupg, 0o700);
    await gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-generate-key',
      'cdktf-access-droplet e2e apt repository <e2e@example.invalid>', 'ed25519', 'sign', 'never']);
    const listing = (await gpg(['--with-colons', '--list-keys'])).stdout;
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1];
    if (!fpr) throw new Error(`gpg made no key:\n${listing}`);
    const sign = ['--local-user', fpr, '--digest-algo', 'SHA512'];
    await gpg([...sign, '--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')]);
    await gpg([...sign, '--armor', '--detach-sign', '--output', join(dists, 'Release.gpg'), join(dists, 'Release')]);
    await gpg(['--output', join(repo, 'cloudflared-e2e.gpg'), '--export', fpr]);
    await gpg(['--armor', '--output', join(repo, 'cloudflared-e2e.asc'), '--export', fpr]);
    // fail here, with a clear message, rather than as an apt error deep in the VM's boot.
    await run('gpgv', ['--keyring', join(repo, 'cloudflared-e2e.gpg'), join(dists, 'InRelease')]);
    for (const f of ['InRelease', 'Release.gpg']) await fs.chmod(join(dists, f), 0o644);
    for (const f of ['cloudflared-e2e.gpg', 'cloudflared-e2e.asc']) await fs.chmod(join(repo, f), 0o644);
  } finally {
    await run('gpgconf', ['--kill', 'all'], { env, allowFail: true });
    await fs.rm(gnupg, { recursive: true, force: true });
  }
}

/** Turns a copy of the debootstrapped tree into what a DigitalOcean-like droplet boots. */
async function customise(root: string, work: string): Promise<void> {
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
  // what a droplet's image says: the DigitalOcean datasource, found from the SMBIOS vendor the
  // VM is given, reading the stand-in metadata service (skipping the others saves boot time).
  // The locale is what Ubuntu's cloud images default to: Debian's locale-gen ignores its
  // argument, so cloud-init's default en_US.UTF-8 fails on an image whose /etc/locale.gen
  // enables nothing.
  // The disk is a bare ext4 file system without a partition table, already its full size:
  // cloud-init 25's resizefs fails on it (status: error) where a droplet's partitioned disk grows.
  await write(root, 'etc/cloud/cloud.cfg.d/01_e2e.cfg',
    'datasource_list: [ DigitalOcean, None ]\nlocale: C.UTF-8\nresize_rootfs: false\ngrowpart:\n  mode: "off"\n');
  await write(root, 'etc/fstab', '/dev/vda / ext4 rw,errors=remount-ro 0 1\n');
  await write(root, 'etc/hostname', 'localhost\n');
  await buildAptRepository(root, work);
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

/** Removes cache entries no current release uses (old keys, a killed run's tmp- directory). */
export async function prune(cache: string, keep: string[]): Promise<void> {
  for (const entry of await fs.readdir(cache)) {
    if (/^(rootfs|image|tmp)-/.test(entry) && !keep.includes(entry)) {
      log(`removing stale cache entry ${entry}`);
      await fs.rm(join(cache, entry), { recursive: true, force: true });
    }
  }
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
  if (existsSync(join(imageDir, 'manifest.json'))) {
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
      await customise(root, work);
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
