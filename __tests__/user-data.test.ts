// lib/user-data.ts at synth: extraCloudConfig makes user_data a MIME multipart whose second part
// cannot replace our settings, and what it may do without the opt-in is an allowlist of keys
// known to be inert: the issue's cases, and inputs nobody listed, are refused.
import { posix } from 'path';
import { Token } from 'cdktf';
import { parse } from 'yaml';
import { checkExtraCloudConfig, composeUserData, MIME_BOUNDARY } from '../lib/user-data';
import { acceptedConfig, BARE_PREFIXES, disguises, doVolume, fuzzPath, prng, PROTECTED_FILES } from './extra-cloud-config-cases';
import { newDroplet, onlyResource, synthDroplet } from './fixtures';

const check = (extra: unknown, runsAsRoot = false) => checkExtraCloudConfig('extraCloudConfig', extra, { runsAsRoot });
const OPT_IN = /; set dangerouslyRunExtraCloudConfigAsRoot: true to run it as root anyway, which can undo every guarantee of this library/;
const ROOT_WARNING = /^extraCloudConfig runs as root at first boot \(dangerouslyRunExtraCloudConfigAsRoot is true\): .* can undo every guarantee of this library \(accounts, sshd, sudo, the metadata guard\)$/;
const file = (path: string, extra: object = {}) => ({ write_files: [{ path, content: 'x\n', ...extra }] });
const volume = doVolume('data-1');

/** the message `check` throws, or "" when it accepts. */
function refusal(extra: unknown): string {
  try {
    check(extra);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

describe('extraCloudConfig in user_data', () => {
  const extra = { packages: ['htop'], write_files: [{ path: '/opt/app/env', content: 'hello ${USER}\n' }], timezone: 'UTC' };

  test('makes user_data a MIME multipart: ours first, theirs second with the merge that keeps ours', () => {
    const userData: string = onlyResource(synthDroplet({ extraCloudConfig: extra }), 'digitalocean_droplet').user_data;
    expect(userData.split('\n')[0]).toBe(`Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"`);
    const parts = userData.split(`--${MIME_BOUNDARY}`);
    expect(parts).toHaveLength(4); // preamble, ours, theirs, closing "--"
    const body = (p: string) => p.slice(p.indexOf('\n\n') + 2);
    expect(body(parts[1]).startsWith('#cloud-config\n')).toBe(true);
    expect(body(parts[1])).toContain('/etc/ssh/sshd_config.d/');
    // JSON is YAML; Terraform template sequences in the user's text are escaped like ours.
    const theirs = parse(body(parts[2]).replace('$${', '${'));
    expect(theirs).toEqual({ ...extra, merge_how: [{ name: 'list', settings: ['append'] }, { name: 'dict', settings: ['no_replace', 'recurse_list'] }] });
    expect(body(parts[2])).toContain('hello $${USER}');
  });

  test('fails in the construct when extraCloudConfig leaves the inert set', () => {
    expect(() => newDroplet({ extraCloudConfig: { user: 'srhea' } })).toThrow(/^extraCloudConfig\.user is refused: .*dangerouslyRunExtraCloudConfigAsRoot: true/);
  });

  test('fails when the user data would pass 64 KiB', () => {
    expect(() => newDroplet({ extraCloudConfig: { write_files: [{ path: '/opt/big', content: 'x'.repeat(60000) }] } }))
      .toThrow(/extraCloudConfig makes user_data about [0-9]+ bytes, over DigitalOcean's limit of 65536/);
  });

  test('composeUserData leaves ours alone without extra config', () => {
    expect(composeUserData('#cloud-config\n{}\n')).toBe('#cloud-config\n{}\n');
  });
});

describe('checkExtraCloudConfig: the issue\'s cases', () => {
  test.each([
    [{ user: 'srhea' }, /^extraCloudConfig\.user is refused: cloud-init makes it the image's default user, with passwordless sudo/],
    [{ rsyslog: { configs: [{ filename: '/etc/ssh/sshd_config.d/01-fwd.conf', content: 'AllowTcpForwarding yes' }] } }, /^extraCloudConfig\.rsyslog is refused: its configs\[\]\.filename writes a file at any path/],
    [{ random_seed: { file: '/etc/ssh/sshd_config.d/01-keys.conf', data: 'AuthorizedKeysFile .ssh/authorized_keys' } }, /^extraCloudConfig\.random_seed is refused/],
    [file('/etc/default/ssh'), /^extraCloudConfig\.write_files\[0\]\.path is refused: "\/etc\/default\/ssh" is not below \/opt\/, \/srv\/: files are written only below \/opt\/ or \/srv\//],
    [file('/etc/systemd/system/multi-user.target.wants/ssh.service'), /^extraCloudConfig\.write_files\[0\]\.path is refused: "\/etc\/systemd\/system\/multi-user/],
    [file('/usr/lib/systemd/system/user.slice.d/50-allow.conf'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
    [file('/lib/systemd/system/user.slice.d/50-allow.conf'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
    [file('/run/systemd/system/user.slice.d/50-allow.conf'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
    [file('/etc/systemd/system/slice.d/50-allow.conf'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
    [file('/etc/systemd/system/user@.service.d/50-allow.conf'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
    [file('/etc/cloud/cloud.cfg.d/99-extra.cfg'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
    // and the cases of earlier rounds.
    [{ users: [{ name: 'x', sudo: 'ALL=(ALL) NOPASSWD:ALL' }] }, /^extraCloudConfig\.users is refused: it creates accounts/],
    [{ groups: [{ sudo: ['srhea'] }] }, /^extraCloudConfig\.groups is refused: it adds members to any group, sudo included/],
    [{ ssh_pwauth: true }, /^extraCloudConfig\.ssh_pwauth is refused/],
    [{ ssh_authorized_keys: ['ssh-ed25519 AAAA x'] }, /^extraCloudConfig\.ssh_authorized_keys is refused/],
    [{ chpasswd: { expire: false } }, /^extraCloudConfig\.chpasswd is refused/],
    [{ runcmd: ['echo extra'] }, /^extraCloudConfig\.runcmd is refused: its commands run as root/],
    [{ bootcmd: [['systemctl', 'disable', 'cdktf-metadata-guard']] }, /^extraCloudConfig\.bootcmd is refused: its commands run as root, at every boot/],
    [{ apt: { conf: 'APT::Update::Pre-Invoke { "id"; };' } }, /^extraCloudConfig\.apt is refused: it adds apt sources, keys and hooks/],
    [{ snap: { commands: ['id'] } }, /^extraCloudConfig\.snap is refused/],
    [file('/etc/motd'), /^extraCloudConfig\.write_files\[0\]\.path is refused: "\/etc\/motd" is not below/],
    [file('/etc/nftables.conf'), /^extraCloudConfig\.write_files\[0\]\.path is refused/],
  ])('fails on %j, naming the key, why and the opt-in', (extra, message) => {
    expect(() => check(extra)).toThrow(message);
    expect(() => check(extra)).toThrow(OPT_IN);
  });

  test.each([
    [{ merge_how: 'dict(replace)+list(replace)' }, /^extraCloudConfig\.merge_how is refused: the merge is fixed so our settings win; remove it$/],
    [{ merge_type: 'list(prepend)' }, /^extraCloudConfig\.merge_type is refused: the merge is fixed so our settings win; remove it$/],
  ])('fails on %j even with the opt-in', (extra, message) => {
    expect(() => check(extra, true)).toThrow(message);
  });

  test.each([[['packages']], ['#cloud-config'], [null], [42]])('fails when extraCloudConfig is no object: %j', (extra) => {
    expect(() => check(extra, true)).toThrow(/^extraCloudConfig must be a cloud-config object such as \{ packages: \["htop"\] \}, got /);
  });

  test('names every other refused key after the first', () => {
    expect(refusal({ user: 'srhea', runcmd: ['id'], write_files: [{ path: '/etc/x' }] }))
      .toMatch(/^extraCloudConfig\.user is refused: .*\(also refused: extraCloudConfig\.runcmd, extraCloudConfig\.write_files\[0\]\.path\)$/);
  });
});

describe('checkExtraCloudConfig: inputs nobody listed', () => {
  test('every protected file, however it is disguised as /opt or /srv, is refused', () => {
    const cases = PROTECTED_FILES.flatMap(disguises);
    expect(cases.length).toBeGreaterThan(1000);
    const accepted = cases.filter((p) => refusal(file(p)) === '');
    expect(accepted).toEqual([]);
    // and as a mount point.
    const mounts = cases.filter((p) => refusal({ mounts: [[volume, p, 'ext4', 'nosuid,nodev']] }) === '');
    expect(mounts).toEqual([]);
  });

  test.each(BARE_PREFIXES)('fails on the prefix itself: %j', (path) => {
    expect(refusal(file(path))).toMatch(/^extraCloudConfig\.write_files\[0\]\.path is refused: /);
  });

  test.each([1, 2, 3])('random paths (seed %d): each accepted one is normalized, absolute, printable and strictly below /opt/ or /srv/', (seed) => {
    const r = prng(seed);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const p = fuzzPath(r);
      if (refusal(file(p)) !== '') continue;
      accepted++;
      expect({ path: p, normalized: posix.normalize(p) }).toEqual({ path: p, normalized: p });
      expect(p).toMatch(/^\/(opt|srv)\/[\x21-\x7e]+$/);
      expect(p.split('/')).not.toContain('..');
    }
    // the generator does reach the accepted set, or the property says nothing.
    expect(accepted).toBeGreaterThan(50);
  });

  test.each([1, 2, 3, 4, 5])('random configs inside the inert set (seed %d) are accepted with no warning', (seed) => {
    const r = prng(seed);
    for (let i = 0; i < 200; i++) {
      const extra = acceptedConfig(r);
      expect({ extra, warnings: check(extra) }).toEqual({ extra, warnings: [] });
    }
  });

  test.each([1, 2, 3])('every sub-key outside the allowlist is refused (seed %d)', (seed) => {
    const r = prng(seed);
    const names = ['source', 'cmd', 'extra_opts', 'replace_fs', 'mode', 'user', 'Path', 'path ', 'defer_', '__proto__x', 'x'];
    for (let i = 0; i < 50; i++) {
      const extra = acceptedConfig(r) as { write_files?: object[]; fs_setup?: object[] };
      const key = names[i % names.length];
      if (extra.write_files) {
        const bad = { ...extra, write_files: [...extra.write_files, { path: '/opt/x', [key]: 'y' }] };
        expect(refusal(bad)).toMatch(new RegExp(`^extraCloudConfig\\.write_files\\[${extra.write_files.length}\\]\\.${key.replace(/[$_ ]/g, '.')} is refused: the key is not one of those known to be inert here`));
      }
      if (extra.fs_setup) {
        const bad = { ...extra, fs_setup: [{ ...extra.fs_setup[0], [key]: 'y' }] };
        expect(refusal(bad)).toMatch(/^extraCloudConfig\.fs_setup\[0\]\..* is refused: the key is not one of those known to be inert here/);
      }
    }
  });
});

describe('checkExtraCloudConfig: each accepted key, and its edges', () => {
  test.each([
    [{ packages: ['htop', 'g++', 'libstdc++6', 'python3.11', 'htop=3.2.2-2', ['nginx', '1.22.1-9'], 'git=1:2.39.2-1.1'] }],
    [{ package_update: true, package_upgrade: false, package_reboot_if_required: true }],
    [{ timezone: 'America/Argentina/Buenos_Aires' }],
    [{ timezone: 'Etc/GMT+5' }],
    [file('/srv/www/index.html', { owner: 'www-data:www-data', permissions: '0644', encoding: 'text/plain', append: true, defer: true })],
    [file('/opt/app/run.sh', { permissions: '755', owner: 'root' })],
    [file('/opt/app/key', { permissions: '0o600', encoding: 'gzip+base64' })],
    [{ fs_setup: [{ device: volume, filesystem: 'ext4', label: 'data', partition: 'auto', overwrite: false }] }],
    [{ fs_setup: [{ device: `${volume}-part1`, filesystem: 'xfs', partition: 'none' }, { device: volume, filesystem: 'btrfs', partition: 2 }] }],
    [{ mounts: [[volume, '/mnt/data_1', 'ext4', 'defaults,nofail,discard,noatime,nosuid,nodev', '0', '2']] }],
    [{ mounts: [[volume, '/data/x', 'xfs', 'nosuid,nodev,x-systemd.device-timeout=30s']] }],
    [{ mounts: [[volume, '/srv/data', 'ext4', 'nodev,nosuid']], write_files: [{ path: '/srv/data-config/x' }] }],
  ])('accepts %j', (extra) => {
    expect(check(extra)).toEqual([]);
  });

  test.each([
    [{ packages: ['-oAPT::Update::Pre-Invoke::=id'] }, /packages\[0\] is refused: "-oAPT::Update::Pre-Invoke::=id" is not a Debian package name .*a leading "-" as an option/],
    [{ packages: ['--allow-unauthenticated'] }, /packages\[0\] is refused: .* is not a Debian package name/],
    [{ packages: ['openssh-server-'] }, /packages\[0\] is refused: "openssh-server-" is not a Debian package name .*a trailing one as "remove"/],
    [{ packages: [['cloudflared-', '1.0']] }, /packages\[0\]\[0\] is refused/],
    [{ packages: [['htop', '-oDpkg::Pre-Invoke::=id']] }, /packages\[0\]\[1\] is refused: .* is not a Debian version/],
    [{ packages: ['htop=-o=x'] }, /packages\[0\] is refused: "htop=-o=x": "-o=x" is not a Debian version/],
    [{ packages: ['Htop', 'h', 'htop id', 'htop;id', 'libc6:i386', 'htop/bookworm', '?name(ssh)', '~nssh'] }, /packages\[0\] is refused/],
    [{ packages: [] }, /packages is refused: \[\] is not a non-empty list/],
    [{ packages: 'htop' }, /packages is refused: "htop" is not a non-empty list/],
    [{ packages: [['htop']] }, /packages\[0\] is refused: \["htop"\] is neither a package name nor a \[name, version\] pair/],
    [{ package_update: 'yes' }, /package_update is refused: "yes" is not true or false/],
    [{ apt_update: true }, /^extraCloudConfig\.apt_update is refused/],
    [{ timezone: '../../../etc/shadow' }, /timezone is refused: ".*" is not a zoneinfo name/],
    [{ timezone: '/etc/shadow' }, /timezone is refused/],
    [{ timezone: 'UTC\nx' }, /timezone is refused/],
    [file('/opt/app/su', { permissions: '4755' }), /permissions is refused: "4755" must be three octal digits .*setuid, setgid and sticky bits are refused/],
    [file('/opt/app/su', { permissions: '02755' }), /permissions is refused/],
    [file('/opt/app/su', { permissions: '1777' }), /permissions is refused/],
    [file('/opt/app/su', { permissions: 0o644 }), /permissions is refused: 420 is not a string/],
    [file('/opt/app/x', { owner: 'root:root:x' }), /owner is refused/],
    [file('/opt/app/x', { owner: '-1' }), /owner is refused/],
    [file('/opt/app/x', { encoding: 'zip' }), /encoding is refused: "zip" must be one of cloud-init's encodings/],
    [file('/opt/app/x', { content: 42 }), /content is refused: 42 is not a string/],
    [file('/opt/app/x', { defer: 'true' }), /defer is refused: "true" is not true or false/],
    [file('/opt/app/x', { source: { uri: 'http://169.254.169.254/metadata/v1/user-data' } }), /write_files\[0\]\.source is refused: the key is not one of those known to be inert here/],
    [{ write_files: [{ content: 'x' }] }, /write_files\[0\] is refused: it has no path, which is required/],
    [{ write_files: ['/opt/x'] }, /write_files\[0\] is refused: "\/opt\/x" is not a mapping of path, content/],
    [{ fs_setup: [{ device: '/dev/vda', filesystem: 'ext4' }] }, /fs_setup\[0\]\.device is refused: "\/dev\/vda" is not a DigitalOcean volume device/],
    [{ fs_setup: [{ device: 'ephemeral0.1', filesystem: 'ext4' }] }, /fs_setup\[0\]\.device is refused/],
    [{ fs_setup: [{ device: `${volume}/../../../vda`, filesystem: 'ext4' }] }, /fs_setup\[0\]\.device is refused/],
    [{ fs_setup: [{ device: volume, filesystem: 'swap' }] }, /fs_setup\[0\]\.filesystem is refused: "swap" must be one of ext4, xfs, btrfs/],
    [{ fs_setup: [{ device: volume, filesystem: 'ext4', cmd: 'mkfs.ext4 -d /etc %(device)s' }] }, /fs_setup\[0\]\.cmd is refused: the key is not one of those known to be inert here/],
    [{ fs_setup: [{ device: volume, filesystem: 'ext4', extra_opts: ['-d', '/etc'] }] }, /fs_setup\[0\]\.extra_opts is refused/],
    [{ fs_setup: [{ device: volume, filesystem: 'ext4', label: '-d' }] }, /fs_setup\[0\]\.label is refused/],
    [{ fs_setup: [{ device: volume, filesystem: 'ext4', partition: '1; id' }] }, /fs_setup\[0\]\.partition is refused/],
    [{ disk_setup: { [volume]: { layout: true } } }, /^extraCloudConfig\.disk_setup is refused/],
    [{ mounts: [['/etc', '/srv/etc', 'none', 'bind,nosuid,nodev']] }, /mounts\[0\]\[0\] is refused: "\/etc" is not a DigitalOcean volume device/],
    [{ mounts: [['LABEL=cloudimg-rootfs', '/srv/root', 'ext4', 'nosuid,nodev']] }, /mounts\[0\]\[0\] is refused/],
    [{ mounts: [['/dev/vda1', '/srv/root', 'ext4', 'nosuid,nodev']] }, /mounts\[0\]\[0\] is refused/],
    [{ mounts: [[volume, '/etc', 'ext4', 'nosuid,nodev']] }, /mounts\[0\]\[1\] is refused: "\/etc" is not below \/mnt\/, \/srv\/, \/opt\/, \/data\//],
    [{ mounts: [[volume, '/mnt', 'ext4', 'nosuid,nodev']] }, /mounts\[0\]\[1\] is refused: "\/mnt" is the prefix itself/],
    [{ mounts: [[volume, '/srv/x', 'ext4', 'defaults,nofail']] }, /mounts\[0\]\[3\] is refused: "defaults,nofail" must include nosuid and nodev \(add nosuid,nodev\)/],
    [{ mounts: [[volume, '/srv/x', 'ext4', 'nosuid,nodev,suid']] }, /mounts\[0\]\[3\] is refused: .* has options outside .*: "suid"/],
    [{ mounts: [[volume, '/srv/x', 'ext4', 'nosuid,nodev,bind']] }, /mounts\[0\]\[3\] is refused/],
    [{ mounts: [[volume, '/srv/x', 'ext4', 'nosuid,nodev,x-systemd.required-by=ssh.service']] }, /mounts\[0\]\[3\] is refused/],
    [{ mounts: [[volume, '/srv/x', 'ext4', 'nosuid,nodev\n/dev/vda1\t/srv/root\text4\tdefaults']] }, /mounts\[0\]\[3\] is refused/],
    [{ mounts: [[volume, '/srv/x', 'ext4', 'nosuid,nodev', '0', '2 x']] }, /mounts\[0\]\[5\] is refused/],
    [{ mounts: [[volume, '/srv/x']] }, /mounts\[0\] is refused: .* must be \[device, mount point, filesystem, options\]/],
    [{ mounts: [[volume, null, 'ext4', 'nosuid,nodev']] }, /mounts\[0\]\[1\] is refused: null is not a string/],
    [{ swap: { filename: '/etc/shadow', size: '1M' } }, /^extraCloudConfig\.swap is refused/],
    [{ mount_default_fields: [null, null, 'auto', 'defaults', '0', '2'] }, /^extraCloudConfig\.mount_default_fields is refused/],
    [{ mounts: [[volume, '/srv/data', 'ext4', 'nosuid,nodev']], write_files: [{ path: '/srv/data/app.conf', defer: true }] },
      /write_files\[0\]\.path is refused: "\/srv\/data\/app\.conf" lies below mount point "\/srv\/data": the volume's own contents/],
  ])('fails on %j', (extra, message) => {
    const m = refusal(extra);
    expect(m).toMatch(message);
    expect(m).toMatch(/^extraCloudConfig\./);
    expect(m).toMatch(OPT_IN);
  });
});

describe('checkExtraCloudConfig: tokens and the opt-in', () => {
  test('a token is accepted as file content (a secret from another resource), not where it decides a path or a package', () => {
    const token = Token.asString({ Ref: 'x' });
    expect(check(file('/opt/app/env', { content: token }))).toEqual([]);
    expect(refusal(file(token))).toMatch(/write_files\[0\]\.path is refused: it is a token, and what a token resolves to cannot be checked/);
    expect(refusal({ packages: [token] })).toMatch(/packages\[0\] is refused: it is a token/);
    expect(refusal({ timezone: token })).toMatch(/timezone is refused: it is a token/);
  });

  test('with the opt-in, each refused case is accepted and a warning says what runs as root', () => {
    for (const extra of [{ user: 'srhea' }, { runcmd: ['id'] }, file('/etc/sudoers.d/90-x'), { packages: ['openssh-server-'] }, file(Token.asString({ Ref: 'x' }))]) {
      const warnings = check(extra, true);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(ROOT_WARNING);
    }
    expect(check({ user: 'srhea', runcmd: ['id'], bootcmd: ['id'], apt: {}, snap: {}, rsyslog: {}, random_seed: {} }, true)[0])
      .toMatch(/: extraCloudConfig\.user, extraCloudConfig\.runcmd, extraCloudConfig\.bootcmd, extraCloudConfig\.apt, extraCloudConfig\.snap and 2 more can undo/);
  });

  test('the opt-in on a config that needs none says so', () => {
    expect(check({ packages: ['htop'] }, true)).toEqual([
      'dangerouslyRunExtraCloudConfigAsRoot is true, but extraCloudConfig needs no opt-in (everything in it is known to be inert): remove dangerouslyRunExtraCloudConfigAsRoot',
    ]);
  });

  test('the field name given is the one in messages', () => {
    expect(() => checkExtraCloudConfig('hosts[1].extraCloudConfig', { user: 'srhea' })).toThrow(/^hosts\[1\]\.extraCloudConfig\.user is refused/);
  });
});
