// inputs for the extraCloudConfig tests that nobody listed by hand: hostile paths made from the
// files the invariant protects, random paths, and random configs inside the inert set. Seeded,
// so a failure names the seed that reproduces it.
import { gzipSync } from 'zlib';

/** A small seeded PRNG (mulberry32): the same seed gives the same cases on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export function pick<T>(r: Random, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function int(r: Random, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** `n` picks. */
function some<T>(r: Random, xs: readonly T[], n: number): T[] {
  return Array.from({ length: n }, () => pick(r, xs));
}

/**
 * Files the invariant protects (accounts, sudo, sshd, PAM, systemd and its drop-in directories,
 * cron, apt hooks, cloud-init, the metadata guard, our files): the cases and their
 * neighbours.
 */
export const PROTECTED_FILES = [
  '/etc/default/ssh',
  '/etc/systemd/system/multi-user.target.wants/ssh.service',
  '/usr/lib/systemd/system/user.slice.d/50-allow.conf',
  '/lib/systemd/system/user.slice.d/50-allow.conf',
  '/run/systemd/system/user.slice.d/50-allow.conf',
  '/etc/systemd/system/slice.d/50-allow.conf',
  '/etc/systemd/system/user@.service.d/50-allow.conf',
  '/etc/systemd/system/user.slice.d/50-allow.conf',
  '/etc/systemd/system/nftables.service.d/50-no-guard.conf',
  '/etc/cloud/cloud.cfg.d/99-extra.cfg',
  '/etc/ssh/sshd_config.d/01-extra.conf',
  '/etc/ssh/ca.pub',
  '/etc/sudoers',
  '/etc/sudoers.d/90-extra',
  '/etc/pam.d/sshd',
  '/etc/pam.d/common-auth',
  '/etc/security/access.conf',
  '/etc/passwd',
  '/etc/shadow',
  '/etc/group',
  '/etc/cron.d/extra',
  '/etc/crontab',
  '/var/spool/cron/crontabs/root',
  '/etc/apt/apt.conf.d/99-extra',
  '/etc/apt/sources.list.d/extra.list',
  '/etc/nftables.conf',
  '/etc/ld.so.preload',
  '/etc/cloudflared-access/tunnel.env',
  '/usr/local/lib/cdktf-access-droplet/setup',
  '/usr/local/lib/cdktf-access-droplet/metadata-guard',
  '/root/.ssh/authorized_keys',
  '/home/srhea/.ssh/authorized_keys',
];

/** Ways to write a protected path `t` so that it looks as if it lay below /opt or /srv. */
export function disguises(t: string): string[] {
  const rel = t.slice(1);
  return [
    t,
    `/opt/..${t}`, `/srv/..${t}`, `/opt/app/../..${t}`, `/opt//..${t}`, `/srv/./..${t}`, `//opt/../${rel}`,
    `/opt/../../../${rel}`, `/srv/data/../../${rel}`, `/opt/./..${t}`,
    `/optx${t}`, `/op${t}`, `/srv-${t}`, `/OPT/..${t}`, `/opt-${rel}`, `/srvx/${rel}`,
    `/opt/\n${t}`, `/opt/x\u0000${t}`, `/opt/ /..${t}`, `/opt/..\t${t}`, `/opt/\u200b..${t}`, `/\uff4fpt/..${t}`,
    `opt/..${t}`, `./opt/..${t}`, `../${rel}`, rel, `~/../..${t}`,
    `/opt/..\\..${t}`, `/opt/*/..${t}`, `/opt/$(id)/..${t}`, `/srv/\`id\`${t}`,
    `${t}/`, `${t}/.`,
  ];
}

/** Paths that name a prefix, not a file below it. */
export const BARE_PREFIXES = ['/opt', '/opt/', '/srv', '/srv/', '/opt/.', '/srv/..', '/opt//', '/', ''];

const FUZZ_PIECES = ['/', '/', '/', '.', '..', 'opt', 'srv', 'etc', 'ssh', 'a', 'b-1', '~', '-', ' ', '\n', '\t', '\u0000', '\\', '*', 'é', '\u202e', '$', '"', '%2e', 'mnt', 'data'];

/** A random string made of path-ish pieces, often starting like an allowed prefix. */
export function fuzzPath(r: Random): string {
  const start = pick(r, ['/opt/', '/srv/', '/opt', '/srv', '/', '', '/mnt/', '/data/', '//opt/']);
  return start + some(r, FUZZ_PIECES, int(r, 0, 8)).join('');
}

// names for files below the allowed prefixes: the whole accepted character class, no "." or ".."
// component.
const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@+=,~.-';

function component(r: Random): string {
  for (;;) {
    const c = Array.from({ length: int(r, 1, 12) }, () => pick(r, [...NAME_CHARS])).join('');
    if (c !== '.' && c !== '..') return c;
  }
}

/** A path below `prefix` (e.g. "/opt/") that the check must accept. */
export function goodPath(r: Random, prefix: string): string {
  return prefix + Array.from({ length: int(r, 1, 4) }, () => component(r)).join('/');
}

const PACKAGES = ['htop', 'curl', 'jq', 'git', 'g++', 'libstdc++6', 'python3.11', 'nginx', 'postgresql-15', 'tree', 'nftables'];
const VERSIONS = ['1.0', '3.2.2-2', '1:2.39.2-1.1', '7.88.1-10+deb12u5', '2.1.0~rc1-1'];
const ZONES = ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'Asia/Kolkata', 'America/New_York', 'Pacific/Chatham'];
const ENCODED: [string | undefined, (text: string) => string][] = [
  [undefined, (t) => t],
  ['text/plain', (t) => t],
  ['b64', (t) => Buffer.from(t).toString('base64')],
  ['base64', (t) => Buffer.from(t).toString('base64')],
  ['gzip+base64', (t) => gzipSync(Buffer.from(t)).toString('base64')],
  ['gz+b64', (t) => gzipSync(Buffer.from(t)).toString('base64')],
];
const OWNERS = [undefined, 'root', 'root:root', 'nobody:nogroup', 'daemon', 'daemon:daemon'];
const MOUNT_OPTION_SETS = [
  ['defaults', 'nofail', 'discard', 'noatime', 'nosuid', 'nodev'],
  ['nosuid', 'nodev', 'defaults'],
  ['nodev', 'nofail', 'nosuid', 'noexec'],
  ['rw', 'relatime', 'nosuid', 'nodev', 'x-systemd.device-timeout=30s'],
];

export interface AcceptedOptions {
  /** filesystems for fs_setup/mounts (the real test has only mkfs.ext4). */
  readonly filesystems?: readonly string[];
  /** fs_setup partition values (the real test's loop devices take no partition number). */
  readonly partitions?: readonly (string | number)[];
}

/** DigitalOcean's device path for a volume named `name`. */
export function doVolume(name: string): string {
  return `/dev/disk/by-id/scsi-0DO_Volume_${name}`;
}

/** A random cloud-config inside the inert set. */
export function acceptedConfig(r: Random, opts: AcceptedOptions = {}): { [key: string]: unknown } {
  const c: { [key: string]: unknown } = {};
  if (r() < 0.5) {
    c.packages = Array.from({ length: int(r, 1, 4) }, () => {
      const name = pick(r, PACKAGES);
      const shape = r();
      return shape < 0.6 ? name : shape < 0.8 ? `${name}=${pick(r, VERSIONS)}` : [name, pick(r, VERSIONS)];
    });
  }
  for (const key of ['package_update', 'package_upgrade', 'package_reboot_if_required']) if (r() < 0.3) c[key] = r() < 0.5;
  if (r() < 0.5) c.timezone = pick(r, ZONES);
  const mountPoints: string[] = [];
  if (r() < 0.4) {
    const volume = `vol-${int(r, 1, 99)}`;
    const fs = pick(r, opts.filesystems ?? ['ext4', 'xfs', 'btrfs']);
    const entry: { [key: string]: unknown } = { device: doVolume(volume), filesystem: fs };
    if (r() < 0.7) entry.label = `L${component(r).replace(/[^A-Za-z0-9_-]/g, 'x')}`.slice(0, 12);
    if (r() < 0.6) entry.partition = pick(r, opts.partitions ?? ['auto', 'any', 'none', 1, 2]);
    if (r() < 0.4) entry.overwrite = r() < 0.5;
    c.fs_setup = [entry];
    const point = goodPath(r, pick(r, ['/mnt/', '/srv/', '/opt/', '/data/'])).replace(/[^/A-Za-z0-9_-]/g, 'x');
    mountPoints.push(point);
    const mount = [doVolume(volume), point, fs, [...pick(r, MOUNT_OPTION_SETS)].sort(() => r() - 0.5).join(',')];
    if (r() < 0.6) mount.push('0', pick(r, ['0', '2']));
    c.mounts = [mount];
  }
  if (r() < 0.8) {
    c.write_files = Array.from({ length: int(r, 1, 4) }, () => {
      let path = goodPath(r, pick(r, ['/opt/', '/srv/']));
      while (mountPoints.some((m) => path === m || path.startsWith(`${m}/`))) path = goodPath(r, pick(r, ['/opt/', '/srv/']));
      const text = `written by extraCloudConfig ${int(r, 0, 1e6)}\n${r() < 0.3 ? 'a ${literal} dollar\n' : ''}`;
      const [encoding, encode] = pick(r, ENCODED);
      const f: { [key: string]: unknown } = { path, content: encode(text) };
      if (encoding !== undefined) f.encoding = encoding;
      const owner = pick(r, OWNERS);
      if (owner !== undefined) f.owner = owner;
      if (r() < 0.6) f.permissions = `${pick(r, ['0', '', '0o'])}${int(r, 0, 7)}${int(r, 0, 7)}${int(r, 0, 7)}`;
      if (r() < 0.2) f.append = r() < 0.5;
      if (r() < 0.3) f.defer = r() < 0.5;
      return f;
    });
  }
  if (Object.keys(c).length === 0) c.write_files = [{ path: goodPath(r, '/srv/'), content: 'x\n' }];
  return c;
}
