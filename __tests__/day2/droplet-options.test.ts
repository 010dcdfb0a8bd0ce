// issue 11 items 2, 4, 5, 6 at synth: image and region checks, droplet options, extra cloud-config,
// keeping the droplet on user_data changes, CA rotation wiring.
import { Testing, TerraformStack } from 'cdktf';
import { parse } from 'yaml';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode } from '../../lib';
import { composeUserData, MIME_BOUNDARY } from '../../lib/user-data';
import { minimalProps } from '../fixtures';

function stack() {
  return new TerraformStack(Testing.app(), 'stack');
}
function droplet(props: Partial<AccessDropletProps>, s = stack()) {
  return new AccessDroplet(s, 'Test', { ...minimalProps, ...props } as AccessDropletProps);
}
function synth(props: Partial<AccessDropletProps>) {
  const s = stack();
  droplet(props, s);
  return JSON.parse(Testing.synth(s));
}
const only = (json: any, type: string) => {
  const values = Object.values(json.resource[type] ?? {}) as any[];
  expect(values).toHaveLength(1);
  return values[0];
};
const warningsOf = (c: { node: { metadata: { type: string; data: unknown }[] } }) =>
  c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
const fleetBase: AccessDropletFleetProps = {
  accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'],
  hosts: [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech' }],
};

describe('droplet options', () => {
  test('are off by default: no backups, ipv6, volumes, project, graceful shutdown or lifecycle', () => {
    const json = synth({});
    const d = only(json, 'digitalocean_droplet');
    for (const key of ['backups', 'ipv6', 'volume_ids', 'graceful_shutdown', 'lifecycle']) expect(d[key]).toBeUndefined();
    expect(json.resource.digitalocean_project_resources).toBeUndefined();
    expect(json.resource.terraform_data).toBeUndefined();
    expect(d.user_data.startsWith('#cloud-config\n')).toBe(true);
  });

  test('set backups, ipv6, volumes, graceful shutdown and the project', () => {
    const json = synth({ backups: true, ipv6: true, volumeIds: ['vol-1', 'vol-2'], gracefulShutdown: true, projectId: 'proj-123' });
    const d = only(json, 'digitalocean_droplet');
    expect(d).toMatchObject({ backups: true, ipv6: true, volume_ids: ['vol-1', 'vol-2'], graceful_shutdown: true });
    const project = only(json, 'digitalocean_project_resources');
    expect(project.project).toBe('proj-123');
    expect(project.resources).toEqual([expect.stringMatching(/^\$\{digitalocean_droplet\.Test_Droplet_[0-9A-F]+\.urn\}$/)]);
  });

  test('put every fleet droplet into the project', () => {
    const s = stack();
    new AccessDropletFleet(s, 'F', { ...fleetBase, projectId: 'proj-123', backups: true });
    const json = JSON.parse(Testing.synth(s));
    expect(Object.values(json.resource.digitalocean_project_resources)).toHaveLength(2);
    expect(Object.values(json.resource.digitalocean_droplet).every((d: any) => d.backups === true)).toBe(true);
  });

  test('fails when one volume is attached to two droplets, naming both', () => {
    const s = stack();
    droplet({ volumeIds: ['vol-1'] }, s);
    expect(() => new AccessDroplet(s, 'Other', { ...minimalProps, hostname: 'other.widgetcorp.tech', volumeIds: ['vol-1'] }))
      .toThrow(/volumeIds\[0\] "vol-1" is attached to stack\/Test already; a volume attaches to one droplet only/);
    expect(() => new AccessDropletFleet(stack(), 'F', { ...fleetBase, volumeIds: ['vol-9'] }))
      .toThrow(/volumeIds\[0\] "vol-9" is attached to stack\/F\/Hosts\/a-widgetcorp-tech already/);
  });

  test('fails on a project id or volume id with white space', () => {
    expect(() => droplet({ projectId: 'my project' })).toThrow(/projectId "my project" must be a non-empty Cloudflare id/);
    expect(() => droplet({ volumeIds: [''] })).toThrow(/volumeIds\[0\] "" must be/);
  });
});

describe('extraCloudConfig', () => {
  const extra = { packages: ['htop'], write_files: [{ path: '/etc/motd', content: 'hello ${USER}\n' }], runcmd: ['echo extra'] };

  test('makes user_data a MIME multipart: ours first, theirs second with the merge that keeps ours', () => {
    const userData: string = only(synth({ extraCloudConfig: extra }), 'digitalocean_droplet').user_data;
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
    [{ write_files: [{ path: '/etc/nftables.conf', content: 'flush ruleset' }] }, /write_files\[0\]\.path "\/etc\/nftables\.conf" is refused/],
    [{ runcmd: ['nft flush ruleset'] }, /extraCloudConfig\.runcmd\[0\] "nft flush ruleset" touches .*the metadata guard/],
    [{ runcmd: [['iptables', '-F', 'OUTPUT']] }, /extraCloudConfig\.runcmd\[0\] .* touches/],
    [{ bootcmd: ['curl http://169.254.169.254/metadata/v1/user-data'] }, /extraCloudConfig\.bootcmd\[0\] .* touches/],
  ])('fails on %j', (extraCloudConfig, message) => {
    expect(() => droplet({ extraCloudConfig: extraCloudConfig as any })).toThrow(message);
  });

  test('accepts ordinary first-boot work: packages, files elsewhere, commands, nft rules of your own', () => {
    const ok = { packages: ['htop'], write_files: [{ path: '/etc/motd', content: 'hi' }, { path: '/opt/app/env', content: 'X=1' }],
      runcmd: ['systemctl enable --now docker', ['nft', 'add', 'table', 'inet', 'mine']], timezone: 'UTC' };
    expect(() => droplet({ extraCloudConfig: ok })).not.toThrow();
  });

  test('fails when the user data would pass 64 KiB', () => {
    expect(() => droplet({ extraCloudConfig: { write_files: [{ path: '/opt/big', content: 'x'.repeat(60000) }] } }))
      .toThrow(/extraCloudConfig makes user_data about [0-9]+ bytes, over DigitalOcean's limit of 65536/);
  });

  test('composeUserData leaves ours alone without extra config', () => {
    expect(composeUserData('#cloud-config\n{}\n')).toBe('#cloud-config\n{}\n');
  });
});

describe('userDataCausesReplacement: false', () => {
  test('ignores user_data changes but still replaces the droplet with the CA key or tunnel token, and warns', () => {
    const s = stack();
    const ad = droplet({ userDataCausesReplacement: false }, s);
    const json = JSON.parse(Testing.synth(s));
    const d = only(json, 'digitalocean_droplet');
    const trust = Object.entries(json.resource.terraform_data) as [string, any][];
    expect(trust).toHaveLength(1);
    expect(d.lifecycle).toEqual({ ignore_changes: ['user_data'], replace_triggered_by: [`terraform_data.${trust[0][0]}`] });
    expect(trust[0][1].input.ca_public_key).toMatch(/cloudflare_zero_trust_access_short_lived_certificate\..*\.public_key/);
    expect(trust[0][1].input.tunnel_token).toMatch(/data\.cloudflare_zero_trust_tunnel_cloudflared_token\..*\.token/);
    expect(warningsOf(ad)).toEqual([expect.stringMatching(/userDataCausesReplacement is false: changes to users .* no longer reach the droplet/)]);
  });
});

describe('accessCaVersion', () => {
  test('replaces the certificate when the version changes', () => {
    const json = synth({ accessCaVersion: '2' });
    const [[name, rotation]] = Object.entries(json.resource.terraform_data) as [string, any][];
    expect(rotation.input).toEqual({ version: '2' });
    expect(only(json, 'cloudflare_zero_trust_access_short_lived_certificate').lifecycle).toEqual({ replace_triggered_by: [`terraform_data.${name}`] });
  });

  test('rotates each CA of a fleet', () => {
    const s = stack();
    new AccessDropletFleet(s, 'F', { ...fleetBase, count: 6, hostnamePattern: 'w-{index}.widgetcorp.tech', hosts: undefined, accessCaVersion: '3' });
    const json = JSON.parse(Testing.synth(s));
    const certs = Object.values(json.resource.cloudflare_zero_trust_access_short_lived_certificate) as any[];
    expect(certs).toHaveLength(2);
    expect(certs.every((c) => c.lifecycle.replace_triggered_by.length === 1)).toBe(true);
  });

  test('fails on a version with white space, and in infrastructure mode', () => {
    expect(() => droplet({ accessCaVersion: 'two words' })).toThrow(/accessCaVersion "two words" must be 1-64 letters/);
    expect(() => droplet({ mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: 'ssh-ed25519 AAAA ca', accessCaVersion: '2' }))
      .toThrow(/accessCaVersion "2" applies to self-hosted mode; in infrastructure mode .* change infrastructureCaPublicKey/);
  });
});
