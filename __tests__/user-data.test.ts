// lib/user-data.ts at synth: extraCloudConfig makes user_data a MIME multipart whose second part
// cannot replace our settings, and refuses keys and paths that would open a way in.
import { parse } from 'yaml';
import { composeUserData, MIME_BOUNDARY } from '../lib/user-data';
import { newDroplet, onlyResource, synthDroplet } from './fixtures';

describe('extraCloudConfig', () => {
  const extra = { packages: ['htop'], write_files: [{ path: '/etc/motd', content: 'hello ${USER}\n' }], runcmd: ['echo extra'] };

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

  test.each([
    [{ users: [{ name: 'x', sudo: 'ALL=(ALL) NOPASSWD:ALL' }] }, /extraCloudConfig\.users is refused: accounts come from the users prop/],
    [{ ssh_pwauth: true }, /extraCloudConfig\.ssh_pwauth is refused/],
    [{ ssh_authorized_keys: ['ssh-ed25519 AAAA x'] }, /extraCloudConfig\.ssh_authorized_keys is refused/],
    [{ chpasswd: { expire: false } }, /extraCloudConfig\.chpasswd is refused/],
    [{ merge_how: 'dict(replace)+list(replace)' }, /extraCloudConfig\.merge_how is refused: the merge is fixed so our settings win/],
    [{ write_files: [{ path: '/etc/ssh/sshd_config.d/00-mine.conf', content: 'PasswordAuthentication yes' }] }, /write_files\[0\]\.path "\/etc\/ssh\/sshd_config\.d\/00-mine\.conf" is refused: .*lies in \/etc\/ssh\//],
    [{ write_files: [{ path: '/etc/../etc/ssh/ca.pub', content: 'x' }] }, /write_files\[0\]\.path "\/etc\/\.\.\/etc\/ssh\/ca\.pub" is refused/],
    [{ write_files: [{ path: '/etc/sudoers.d/90-me', content: 'x' }] }, /write_files\[0\]\.path .* lies in \/etc\/sudoers/],
    [{ write_files: [{ path: '/etc/systemd/system/cdktf-metadata-guard.service', content: '' }] }, /lies in \/etc\/systemd\/system\/cdktf-/],
    [{ write_files: [{ path: 'relative.txt', content: '' }] }, /write_files\[0\]\.path "relative\.txt" is refused: it is not absolute/],
    [{ runcmd: ['sed -i s/no/yes/ /etc/ssh/sshd_config'] }, /extraCloudConfig\.runcmd\[0\] .* touches sshd's configuration/],
    [{ bootcmd: [['systemctl', 'disable', 'cdktf-metadata-guard']] }, /extraCloudConfig\.bootcmd\[0\] .* touches/],
    [['packages'], /extraCloudConfig must be a cloud-config object/],
    [{ groups: [{ sudo: ['srhea'] }] }, /extraCloudConfig\.groups is refused: group members come from the users prop/],
    [{ write_files: [{ path: '/etc/systemd/system/user.slice.d/50-mine.conf', content: '[Slice]\nIPAddressAllow=169.254.169.254\n' }] }, /lies in \/etc\/systemd\/system\/user\.slice/],
    [{ write_files: [{ path: '/etc/systemd/system/nftables.service.d/mine.conf', content: '[Service]\nExecStartPost=\n' }] }, /lies in \/etc\/systemd\/system\/nftables\.service/],
    [{ write_files: [{ path: '/etc/nftables.conf', content: 'flush ruleset' }] }, /write_files\[0\]\.path "\/etc\/nftables\.conf" is refused/],
    [{ runcmd: ['nft flush ruleset'] }, /extraCloudConfig\.runcmd\[0\] "nft flush ruleset" touches .*the metadata guard/],
    [{ runcmd: [['iptables', '-F', 'OUTPUT']] }, /extraCloudConfig\.runcmd\[0\] .* touches/],
    [{ bootcmd: ['curl http://169.254.169.254/metadata/v1/user-data'] }, /extraCloudConfig\.bootcmd\[0\] .* touches/],
  ])('fails on %j', (extraCloudConfig, message) => {
    expect(() => newDroplet({ extraCloudConfig: extraCloudConfig as any })).toThrow(message);
  });

  test('accepts ordinary first-boot work: packages, files elsewhere, commands, nft rules of your own', () => {
    const ok = { packages: ['htop'], write_files: [{ path: '/etc/motd', content: 'hi' }, { path: '/opt/app/env', content: 'X=1' }],
      runcmd: ['systemctl enable --now docker', ['nft', 'add', 'table', 'inet', 'mine']], timezone: 'UTC' };
    expect(() => newDroplet({ extraCloudConfig: ok })).not.toThrow();
  });

  test('fails when the user data would pass 64 KiB', () => {
    expect(() => newDroplet({ extraCloudConfig: { write_files: [{ path: '/opt/big', content: 'x'.repeat(60000) }] } }))
      .toThrow(/extraCloudConfig makes user_data about [0-9]+ bytes, over DigitalOcean's limit of 65536/);
  });

  test('composeUserData leaves ours alone without extra config', () => {
    expect(composeUserData('#cloud-config\n{}\n')).toBe('#cloud-config\n{}\n');
  });
});
