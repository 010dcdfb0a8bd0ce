// a signed apt repository of stand-in cloudflared packages, built with dpkg-deb and gpg the way
// e2e/image.ts builds the VM's, that a test can publish newer packages into.
import { createHash } from 'crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gzipSync } from 'zlib';
import { run, runOk } from './process';
import { Requirement } from './requirements';
import { writeFile } from './files';

export const APT_TOOLS = {
  dpkgDeb: '/usr/bin/dpkg-deb',
  gpg: '/usr/bin/gpg',
  gpgconf: '/usr/bin/gpgconf',
  gpgv: '/usr/bin/gpgv',
} as const;

export const NEEDS_APT_REPOSITORY: Requirement[] = [
  { what: APT_TOOLS.dpkgDeb, aptPackage: 'dpkg', present: () => run('/bin/sh', ['-c', `test -x ${APT_TOOLS.dpkgDeb}`]).status === 0 },
  { what: APT_TOOLS.gpg, aptPackage: 'gnupg', present: () => run('/bin/sh', ['-c', `test -x ${APT_TOOLS.gpg}`]).status === 0 },
  { what: APT_TOOLS.gpgv, aptPackage: 'gpgv', present: () => run('/bin/sh', ['-c', `test -x ${APT_TOOLS.gpgv}`]).status === 0 },
];

/**
 * How a stand-in cloudflared behaves: `good` reports its version and, run as a tunnel, tells
 * systemd it is ready and stays up; `broken` exits 1 whatever it is asked (also `--version`);
 * `crashes` reports its version but exits 1 when run as a tunnel.
 */
export type StandinKind = 'good' | 'broken' | 'crashes';

/** The stand-in's /usr/bin/cloudflared: it prints what the real one prints for `--version`. */
export function standinCloudflared(version: string, kind: StandinKind): string {
  if (kind === 'broken') return `#!/bin/sh\necho "stand-in cloudflared ${version}: broken build" >&2\nexit 1\n`;
  return [
    '#!/usr/bin/python3',
    '# stand-in for cloudflared: the version output of the real one, and sd_notify READY=1 as',
    '# a Type=notify tunnel sends once it is connected.',
    'import os, signal, socket, sys',
    `if sys.argv[1:] in (["--version"], ["version"]):`,
    `    print("cloudflared version ${version} (built 2025-01-01-0000 UTC)")`,
    '    sys.exit(0)',
    `print("stand-in cloudflared ${version}: " + " ".join(sys.argv[1:]), flush=True)`,
    ...(kind === 'crashes' ? ['print("stand-in: exiting with an error", flush=True)', 'sys.exit(1)'] : []),
    'address = os.environ.get("NOTIFY_SOCKET", "")',
    'if address:',
    '    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:',
    '        s.connect("\\0" + address[1:] if address.startswith("@") else address)',
    '        s.sendall(b"READY=1")',
    'signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))',
    'while True:',
    '    signal.pause()',
    '',
  ].join('\n');
}

function digest(algorithm: string, data: Buffer): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** A repository at `dir` (served as `deb <url> <suite> main`), signed by a key made here. */
export class AptRepository {
  static readonly SUITE = 'cdktf-test';
  static readonly COMPONENT = 'main';
  /** the signing key, binary (what Cloudflare publishes), for signed-by. */
  readonly keyFile: string;
  private readonly gnupg: string;
  private readonly fingerprint: string;
  private lastMtime = 0;

  constructor(readonly dir: string, private readonly work: string) {
    mkdirSync(join(dir, 'pool'), { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    // a short GNUPGHOME: gpg-agent's socket path must fit in sockaddr_un.
    this.gnupg = mkdtempSync(join(tmpdir(), 'cdad-gpg-'));
    this.gpg(['--pinentry-mode', 'loopback', '--passphrase', '', '--quick-generate-key',
      'cdktf-access-droplet test repository <test@example.invalid>', 'ed25519', 'sign', 'never']);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(this.gpg(['--with-colons', '--list-keys']).stdout)?.[1];
    if (!fpr) throw new Error('gpg made no key');
    this.fingerprint = fpr;
    this.keyFile = join(work, 'cloudflared-test.gpg');
    this.gpg(['--output', this.keyFile, '--export', fpr]);
    chmodSync(this.keyFile, 0o644);
  }

  private gpg(args: string[]) {
    return runOk(APT_TOOLS.gpg, ['--batch', '--yes', '--no-tty', ...args], { env: { ...process.env, GNUPGHOME: this.gnupg } });
  }

  /** Builds cloudflared `version` of `kind` into the pool, then re-indexes and re-signs the repository. */
  publish(version: string, kind: StandinKind): void {
    const pkg = join(this.work, `pkg-${version}`);
    writeFile(join(pkg, 'DEBIAN', 'control'), [
      'Package: cloudflared',
      `Version: ${version}`,
      'Architecture: all',
      'Maintainer: cdktf-access-droplet tests <test@example.invalid>',
      'Section: net',
      'Priority: optional',
      `Description: stand-in cloudflared ${version} (${kind})`,
      '',
    ].join('\n'));
    chmodSync(join(pkg, 'DEBIAN'), 0o755);
    writeFile(join(pkg, 'usr', 'bin', 'cloudflared'), standinCloudflared(version, kind), 0o755);
    runOk(APT_TOOLS.dpkgDeb, ['--root-owner-group', '--build', pkg, join(this.dir, 'pool', `cloudflared_${version}_all.deb`)]);
    this.index();
  }

  /** Writes Packages, Release and InRelease for every package in the pool. */
  private index(): void {
    const debs = readdirSync(join(this.dir, 'pool')).filter((f) => f.endsWith('.deb')).sort();
    const stanzas = debs.map((f) => {
      const path = join(this.dir, 'pool', f);
      const deb = readFileSync(path);
      const control = runOk(APT_TOOLS.dpkgDeb, ['-f', path]).stdout.trimEnd();
      return [control, `Filename: pool/${f}`, `Size: ${deb.length}`, `MD5sum: ${digest('md5', deb)}`, `SHA256: ${digest('sha256', deb)}`, ''].join('\n');
    });
    const packages = Buffer.from(stanzas.join('\n'));
    const dists = join(this.dir, 'dists', AptRepository.SUITE);
    const indexDir = `${AptRepository.COMPONENT}/binary-all`;
    const indexes: [string, Buffer][] = [[`${indexDir}/Packages`, packages], [`${indexDir}/Packages.gz`, gzipSync(packages)]];
    mkdirSync(join(dists, indexDir), { recursive: true, mode: 0o755 });
    for (const [name, data] of indexes) writeFileSync(join(dists, name), data, { mode: 0o644 });
    const release = [
      'Origin: cdktf-access-droplet-test',
      'Label: cloudflared stand-in',
      `Suite: ${AptRepository.SUITE}`,
      `Codename: ${AptRepository.SUITE}`,
      `Date: ${new Date().toUTCString().replace('GMT', 'UTC')}`,
      'Architectures: all amd64',
      `Components: ${AptRepository.COMPONENT}`,
      'MD5Sum:',
      ...indexes.map(([name, data]) => ` ${digest('md5', data)} ${data.length} ${name}`),
      'SHA256:',
      ...indexes.map(([name, data]) => ` ${digest('sha256', data)} ${data.length} ${name}`),
      '',
    ].join('\n');
    writeFile(join(dists, 'Release'), release);
    rmSync(join(dists, 'InRelease'), { force: true });
    this.gpg(['--local-user', this.fingerprint, '--digest-algo', 'SHA512', '--clearsign', '--output', join(dists, 'InRelease'), join(dists, 'Release')]);
    chmodSync(join(dists, 'InRelease'), 0o644);
    runOk(APT_TOOLS.gpgv, ['--keyring', this.keyFile, join(dists, 'InRelease')]);
    // an HTTP server answers If-Modified-Since by whole seconds: every publish gets a later one.
    const mtime = Math.max(Math.floor(Date.now() / 1000), this.lastMtime + 1);
    this.lastMtime = mtime;
    for (const f of ['Release', 'InRelease', ...indexes.map(([name]) => name)]) utimesSync(join(dists, f), mtime, mtime);
  }

  /** Stops the key's gpg-agent and removes the key. */
  dispose(): void {
    run(APT_TOOLS.gpgconf, ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: this.gnupg } });
    rmSync(this.gnupg, { recursive: true, force: true });
  }
}
