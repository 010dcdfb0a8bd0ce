/**
 * The signed apt repository that stands in for pkg.cloudflare.com inside the image, holding a
 * stand-in `cloudflared` package, and what it takes to publish a newer one during a run: the
 * repository's tree and its signing key are kept next to the cached image (never inside it), so
 * the harness can add a package, re-index and re-sign on the host, and copy the result into the
 * VM's `/srv/apt` as root.
 */
import { createHash } from 'crypto';
import { promises as fs, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { gzipSync } from 'zlib';
import { run } from './util';

/** Where the repository lives inside the image. */
export const APT_REPO_DIR = '/srv/apt';
export const APT_SUITE = 'e2e';
export const APT_COMPONENT = 'main';
/** The version the image's repository holds, and so the one cloud-init installs. */
export const STANDIN_VERSION = '0.0.0-e2e1';
export const STANDIN_SOURCE = join(__dirname, 'standin', 'cloudflared');
const INDEX_DIR = `${APT_COMPONENT}/binary-amd64`;

/** A Debian version as dpkg accepts it (no spaces, starts with a digit). */
const DEB_VERSION = /^[0-9][A-Za-z0-9.+~-]*$/;

async function write(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
  await fs.mkdir(join(path, '..'), { recursive: true, mode: 0o755 });
  await fs.writeFile(path, content);
  await fs.chmod(path, mode);
}

function digest(algorithm: string, data: Buffer): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** How a stand-in release behaves. */
export interface StandinOptions {
  /** a broken release: it prints its version, but exits with status 1 when run as the tunnel. */
  readonly failsToStart?: boolean;
}

/** The stand-in's program for `version`: it prints that version, as cloudflared prints its own. */
export function standinProgram(version: string, options: StandinOptions = {}): string {
  const source = readFileSync(STANDIN_SOURCE, 'utf8');
  if (!source.includes('"@VERSION@"')) throw new Error(`${STANDIN_SOURCE} has no "@VERSION@" placeholder`);
  if (!source.includes('\nFAILS_TO_START = False\n')) throw new Error(`${STANDIN_SOURCE} has no "FAILS_TO_START = False" line`);
  const program = source.replace('"@VERSION@"', JSON.stringify(version));
  return options.failsToStart ? program.replace('\nFAILS_TO_START = False\n', '\nFAILS_TO_START = True\n') : program;
}

/** The pool path of the stand-in package of `version`, relative to the repository. */
export function poolPath(version: string): string {
  return `pool/${APT_COMPONENT}/c/cloudflared/cloudflared_${version}_amd64.deb`;
}

/** Builds the stand-in cloudflared .deb of `version` at `out`, in a scratch directory under `work`. */
export async function buildStandinDeb(version: string, work: string, out: string, options: StandinOptions = {}): Promise<void> {
  if (!DEB_VERSION.test(version)) throw new Error(`cloudflared version ${JSON.stringify(version)} is not a Debian version such as 2025.11.1`);
  const pkg = await fs.mkdtemp(join(work, 'cloudflared-pkg-'));
  try {
    await write(join(pkg, 'DEBIAN/control'), [
      'Package: cloudflared',
      `Version: ${version}`,
      'Architecture: amd64',
      'Maintainer: cdktf-access-droplet e2e <e2e@example.invalid>',
      'Depends: python3',
      'Section: net',
      'Priority: optional',
      'Description: stand-in for cloudflared in the end-to-end test',
      ' Records its arguments and environment in the journal and tells systemd it is ready.',
      '',
    ].join('\n'));
    await write(join(pkg, 'usr/bin/cloudflared'), standinProgram(version, options), 0o755);
    // dpkg-deb insists on DEBIAN/ being 0755..0775 whatever the umask made it.
    await fs.chmod(join(pkg, 'DEBIAN'), 0o755);
    await fs.mkdir(join(out, '..'), { recursive: true, mode: 0o755 });
    await run('dpkg-deb', ['--root-owner-group', '--build', pkg, out]);
  } finally {
    await fs.rm(pkg, { recursive: true, force: true });
  }
}

/** Every .deb under `repo`/pool, relative to `repo`, in a stable order. */
async function poolDebs(repo: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.name.endsWith('.deb')) found.push(relative(repo, path));
    }
  };
  await walk(join(repo, 'pool'));
  return found.sort();
}

/** Runs `fn` with a throwaway GNUPGHOME holding the repository's secret key from `keyFile`. */
async function withSigningKey<T>(keyFile: string, fn: (gpg: (args: string[]) => Promise<string>, fpr: string) => Promise<T>): Promise<T> {
  // a short GNUPGHOME: gpg-agent's socket path must fit in sockaddr_un.
  const gnupg = await fs.mkdtemp(join(tmpdir(), 'e2e-gpg-'));
  const env = { ...process.env, GNUPGHOME: gnupg };
  const gpg = async (args: string[]) => (await run('gpg', ['--batch', '--yes', '--no-tty', ...args], { env })).stdout;
  try {
    await fs.chmod(gnupg, 0o700);
    await gpg(['--import', keyFile]);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(await gpg(['--with-colons', '--list-secret-keys']))?.[1];
    if (!fpr) throw new Error(`no secret key in ${keyFile}`);
    return await fn(gpg, fpr);
  } finally {
    await run('gpgconf', ['--kill', 'all'], { env, allowFail: true });
    await fs.rm(gnupg, { recursive: true, force: true });
  }
}

/**
 * Writes the indexes of every package in `repo`/pool (Packages, Packages.gz, Release) and signs
 * them (InRelease, Release.gpg) with the key in `keyFile`; returns the files written, relative to
 * `repo`. Checks the signature with gpgv against the repository's published key.
 */
export async function indexRepository(repo: string, keyFile: string): Promise<string[]> {
  const stanzas: string[] = [];
  for (const debPath of await poolDebs(repo)) {
    const deb = readFileSync(join(repo, debPath));
    const control = (await run('dpkg-deb', ['-f', join(repo, debPath)])).stdout.trimEnd();
    stanzas.push([
      control,
      `Filename: ${debPath}`,
      `Size: ${deb.length}`,
      `MD5sum: ${digest('md5', deb)}`,
      `SHA256: ${digest('sha256', deb)}`,
      '',
    ].join('\n'));
  }
  const packages = Buffer.from(stanzas.join('\n'));
  const indexes: [string, Buffer][] = [
    [`${INDEX_DIR}/Packages`, packages],
    [`${INDEX_DIR}/Packages.gz`, gzipSync(packages)],
  ];
  const dists = join(repo, 'dists', APT_SUITE);
  for (const [name, data] of indexes) await write(join(dists, name), data);
  await write(join(dists, 'Release'), [
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
  ].join('\n'));
  await withSigningKey(keyFile, async (gpg, fpr) => {
    const sign = ['--local-user', fpr, '--digest-algo', 'SHA512'];
    await gpg([...sign, '--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')]);
    await gpg([...sign, '--armor', '--detach-sign', '--output', join(dists, 'Release.gpg'), join(dists, 'Release')]);
  });
  // fail here, with a clear message, rather than as an apt error deep in the VM.
  await run('gpgv', ['--keyring', join(repo, 'cloudflared-e2e.gpg'), join(dists, 'InRelease')]);
  for (const f of ['InRelease', 'Release.gpg']) await fs.chmod(join(dists, f), 0o644);
  return [...indexes.map(([name]) => name), 'Release', 'InRelease', 'Release.gpg'].map((f) => `dists/${APT_SUITE}/${f}`);
}

/**
 * Makes a signed repository at `repo` holding the stand-in package of {@link STANDIN_VERSION},
 * with its public key next to it (binary and ASCII-armoured, as `cloudflared-e2e.{gpg,asc}`) and
 * its secret key in `keyFile` (0600), outside the repository, for {@link publishStandin}.
 */
export async function createRepository(repo: string, keyFile: string, work: string): Promise<void> {
  await buildStandinDeb(STANDIN_VERSION, work, join(repo, poolPath(STANDIN_VERSION)));
  const gnupg = await fs.mkdtemp(join(tmpdir(), 'e2e-gpg-'));
  const env = { ...process.env, GNUPGHOME: gnupg };
  const gpg = (args: string[]) => run('gpg', ['--batch', '--yes', '--no-tty', ...args], { env });
  try {
    await fs.chmod(gnupg, 0o700);
    await gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-generate-key',
      'cdktf-access-droplet e2e apt repository <e2e@example.invalid>', 'ed25519', 'sign', 'never']);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await gpg(['--with-colons', '--list-keys'])).stdout)?.[1];
    if (!fpr) throw new Error('gpg made no key');
    await gpg(['--output', join(repo, 'cloudflared-e2e.gpg'), '--export', fpr]);
    await gpg(['--armor', '--output', join(repo, 'cloudflared-e2e.asc'), '--export', fpr]);
    await gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--armor', '--output', keyFile, '--export-secret-keys', fpr]);
    await fs.chmod(keyFile, 0o600);
    for (const f of ['cloudflared-e2e.gpg', 'cloudflared-e2e.asc']) await fs.chmod(join(repo, f), 0o644);
  } finally {
    await run('gpgconf', ['--kill', 'all'], { env, allowFail: true });
    await fs.rm(gnupg, { recursive: true, force: true });
  }
  await indexRepository(repo, keyFile);
}

/**
 * Adds the stand-in package of `version` to the repository at `repo` (a copy of the image's, see
 * {@link Image.aptRepository}), re-indexes and re-signs it, and returns what changed as a tar
 * archive of paths relative to the repository: unpacked as root in the VM's `/srv/apt`, it
 * publishes the package there.
 */
export async function publishStandin(repo: string, keyFile: string, version: string, work: string, options: StandinOptions = {}): Promise<Buffer> {
  const deb = poolPath(version);
  await buildStandinDeb(version, work, join(repo, deb), options);
  const changed = [deb, ...await indexRepository(repo, keyFile)];
  const archive = join(work, `publish-${version}.tar`);
  await run('tar', ['-c', '-f', archive, '--owner=root', '--group=root', '--mode=u=rwX,go=rX', '-C', repo, ...changed]);
  try {
    return readFileSync(archive);
  } finally {
    await fs.rm(archive, { force: true });
  }
}
