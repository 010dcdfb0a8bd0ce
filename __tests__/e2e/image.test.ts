// the e2e images: one per Debian release, each cached under keys made from its own inputs.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { cacheEntries, cacheKeys, debootstrapArgs, DISTROS, prune, STALE_AFTER_MS } from '../../e2e/image';

describe('e2e images', () => {
  test('Debian 12 and 13, by name and suite', () => {
    expect(DISTROS.map((d) => [d.name, d.suite])).toEqual([['debian-12', 'bookworm'], ['debian-13', 'trixie']]);
    for (const d of DISTROS) {
      // what the harness and the setup script need in every image.
      expect(d.packages).toEqual(expect.arrayContaining(['cloud-init', 'openssh-server', 'linux-image-amd64', 'nftables', 'curl', 'sudo', 'gnupg']));
      // what DigitalOcean's images have, which the metadata guard must hold against.
      expect(d.packages).toEqual(expect.arrayContaining(['libpam-systemd', 'dbus-user-session', 'cron', 'at']));
      expect(debootstrapArgs(d)).toEqual(['--variant=minbase', `--include=${d.packages.join(',')}`]);
    }
  });

  test('each release has its own cache keys, which follow its inputs', () => {
    const [a, b] = DISTROS.map(cacheKeys);
    expect(a.rootfs).not.toBe(b.rootfs);
    expect(a.image).not.toBe(b.image);
    expect(cacheKeys(DISTROS[0])).toEqual(a);
    const more = cacheKeys({ ...DISTROS[0], packages: [...DISTROS[0].packages, 'less'] });
    expect(more.rootfs).not.toBe(a.rootfs);
    expect(more.image).not.toBe(a.image);
    expect(cacheEntries(DISTROS)).toEqual([`image-${a.image}`, `rootfs-${a.rootfs}`, `image-${b.image}`, `rootfs-${b.rootfs}`]);
  });
});

describe('e2e image cache', () => {
  test('prune keeps current entries and other checkouts\' recent ones, removes the old and dead runs\' tmp- directories', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'e2e-cache-'));
    try {
      const now = Date.now();
      const old = new Date(now - STALE_AFTER_MS - 60_000);
      for (const e of ['image-current', 'rootfs-current', 'image-other', 'image-old', 'rootfs-old', 'tmp-999999999-debian-12', `tmp-${process.pid}-debian-13`, 'lock']) {
        mkdirSync(join(cache, e));
      }
      for (const e of ['image-current', 'image-old', 'rootfs-old']) utimesSync(join(cache, e), old, old);
      await prune(cache, ['image-current', 'rootfs-current'], now);
      expect(readdirSync(cache).sort()).toEqual(['image-current', 'image-other', 'lock', 'rootfs-current', `tmp-${process.pid}-debian-13`]);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
