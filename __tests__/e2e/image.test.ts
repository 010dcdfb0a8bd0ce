// the e2e images: one per Debian release, each cached under keys made from its own inputs.
import { cacheEntries, cacheKeys, debootstrapArgs, DISTROS } from '../../e2e/image';

describe('e2e images', () => {
  test('Debian 12 and 13, by name and suite', () => {
    expect(DISTROS.map((d) => [d.name, d.suite])).toEqual([['debian-12', 'bookworm'], ['debian-13', 'trixie']]);
    for (const d of DISTROS) {
      // what the harness and the setup script need in every image.
      expect(d.packages).toEqual(expect.arrayContaining(['cloud-init', 'openssh-server', 'linux-image-amd64', 'nftables', 'curl', 'sudo', 'gnupg']));
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
