// the droplet options (lib/plan/droplet.ts, lib/build/droplet.ts) at synth: backups, ipv6, volumes, project,
// keeping the droplet on user_data changes, CA rotation wiring.
import { Testing } from 'cdktf';
import { AccessDroplet, AccessDropletFleet, AccessMode } from '../lib';
import { fleetProps, minimalProps, newDroplet, newStack, onlyResource, synthDroplet, warningsOf } from './fixtures';

describe('droplet options', () => {
  test('are off by default: no backups, ipv6, volumes, project or graceful shutdown; created before the old one is destroyed', () => {
    const json = synthDroplet({});
    const d = onlyResource(json, 'digitalocean_droplet');
    for (const key of ['backups', 'ipv6', 'volume_ids', 'graceful_shutdown']) expect(d[key]).toBeUndefined();
    expect(d.lifecycle).toEqual({ create_before_destroy: true });
    expect(json.resource.digitalocean_project_resources).toBeUndefined();
    expect(json.resource.terraform_data).toBeUndefined();
    expect(d.user_data.startsWith('#cloud-config\n')).toBe(true);
  });

  test('set backups, ipv6, volumes, graceful shutdown and the project', () => {
    const json = synthDroplet({ backups: true, ipv6: true, volumeIds: ['vol-1', 'vol-2'], gracefulShutdown: true, projectId: 'proj-123' });
    const d = onlyResource(json, 'digitalocean_droplet');
    expect(d).toMatchObject({ backups: true, ipv6: true, volume_ids: ['vol-1', 'vol-2'], graceful_shutdown: true });
    const project = onlyResource(json, 'digitalocean_project_resources');
    expect(project.project).toBe('proj-123');
    expect(project.resources).toEqual([expect.stringMatching(/^\$\{digitalocean_droplet\.Test_Droplet_[0-9A-F]+\.urn\}$/)]);
  });

  test('put every fleet droplet into the project', () => {
    const s = newStack();
    new AccessDropletFleet(s, 'F', { ...fleetProps, projectId: 'proj-123', backups: true });
    const json = JSON.parse(Testing.synth(s));
    expect(Object.values(json.resource.digitalocean_project_resources)).toHaveLength(2);
    expect(Object.values(json.resource.digitalocean_droplet).every((d: any) => d.backups === true)).toBe(true);
  });

  test('fails when one volume is attached to two droplets, naming both', () => {
    const s = newStack();
    newDroplet({ volumeIds: ['vol-1'] }, s);
    expect(() => new AccessDroplet(s, 'Other', { ...minimalProps, hostname: 'other.widgetcorp.tech', volumeIds: ['vol-1'] }))
      .toThrow(/^volume "vol-1" is used by both stack\/Test and stack\/Other; a volume attaches to one droplet only/);
    expect(() => new AccessDropletFleet(newStack(), 'F', { ...fleetProps, volumeIds: ['vol-9'] }))
      .toThrow(/^volume "vol-9" is used by both stack\/F\/Hosts\/a-widgetcorp-tech and stack\/F\/Hosts\/b-widgetcorp-tech;/);
  });

  test('fails on a project id or volume id with white space', () => {
    expect(() => newDroplet({ projectId: 'my project' })).toThrow(/projectId "my project" must be a non-empty Cloudflare id/);
    expect(() => newDroplet({ volumeIds: [''] })).toThrow(/volumeIds\[0\] "" must be/);
  });
});

describe('userDataCausesReplacement: false', () => {
  test('ignores user_data changes but still replaces the droplet with the CA key or tunnel token, and warns', () => {
    const s = newStack();
    const ad = newDroplet({ userDataCausesReplacement: false }, s);
    const json = JSON.parse(Testing.synth(s));
    const d = onlyResource(json, 'digitalocean_droplet');
    const trust = Object.entries(json.resource.terraform_data) as [string, any][];
    expect(trust).toHaveLength(1);
    expect(d.lifecycle).toEqual({ create_before_destroy: true, ignore_changes: ['user_data'], replace_triggered_by: [`terraform_data.${trust[0][0]}`] });
    // triggers_replace, not input: terraform_data would copy input to output without the sensitive mark.
    expect(trust[0][1].input).toBeUndefined();
    expect(trust[0][1].triggers_replace.ca_public_key).toMatch(/cloudflare_zero_trust_access_short_lived_certificate\..*\.public_key/);
    expect(trust[0][1].triggers_replace.tunnel_token).toMatch(/^\$\{sensitive\(data\.cloudflare_zero_trust_tunnel_cloudflared_token\..*\.token\)\}$/);
    expect(warningsOf(ad)).toEqual([expect.stringMatching(/userDataCausesReplacement is false: changes to user_data .* no longer reach the droplet; users still do, through its tags/)]);
  });
});

describe('accessCaVersion', () => {
  test('replaces the certificate when the version changes', () => {
    const json = synthDroplet({ accessCaVersion: '2' });
    const [[name, rotation]] = Object.entries(json.resource.terraform_data) as [string, any][];
    expect(rotation.input).toEqual({ version: '2' });
    expect(onlyResource(json, 'cloudflare_zero_trust_access_short_lived_certificate').lifecycle).toEqual({ replace_triggered_by: [`terraform_data.${name}`] });
  });

  test('rotates each CA of a fleet', () => {
    const s = newStack();
    new AccessDropletFleet(s, 'F', { ...fleetProps, count: 6, hostnamePattern: 'w-{index}.widgetcorp.tech', hosts: undefined, accessCaVersion: '3' });
    const json = JSON.parse(Testing.synth(s));
    const certs = Object.values(json.resource.cloudflare_zero_trust_access_short_lived_certificate) as any[];
    // one CA per host (no access groups): each is rotated by its own terraform_data.
    expect(certs).toHaveLength(6);
    expect(certs.every((c) => c.lifecycle.replace_triggered_by.length === 1)).toBe(true);
    expect(new Set(certs.map((c) => c.lifecycle.replace_triggered_by[0])).size).toBe(6);
  });

  test('fails on a version with white space, and in infrastructure mode', () => {
    expect(() => newDroplet({ accessCaVersion: 'two words' })).toThrow(/accessCaVersion "two words" must be 1-64 letters/);
    expect(() => newDroplet({ mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: 'ssh-ed25519 AAAA ca', accessCaVersion: '2' }))
      .toThrow(/accessCaVersion "2" applies to self-hosted mode; in infrastructure mode .* change infrastructureCaPublicKey/);
  });

  test('extraCloudConfig beyond the inert keys needs dangerouslyRunExtraCloudConfigAsRoot, which warns', () => {
    expect(() => newDroplet({ extraCloudConfig: { runcmd: ['echo hi'] } })).toThrow(/extraCloudConfig\.runcmd is refused.*dangerouslyRunExtraCloudConfigAsRoot: true/);
    const ad = newDroplet({ extraCloudConfig: { runcmd: ['echo hi'] }, dangerouslyRunExtraCloudConfigAsRoot: true });
    expect(warningsOf(ad)).toContainEqual(expect.stringMatching(/extraCloudConfig runs as root at first boot.*can undo every guarantee/));
    expect(warningsOf(newDroplet({ extraCloudConfig: { packages: ['htop'] } }))).toEqual([]);
    expect(warningsOf(newDroplet({ dangerouslyRunExtraCloudConfigAsRoot: true }))).toEqual([expect.stringMatching(/no extraCloudConfig; remove the flag/)]);
  });

  test('a replacement droplet is created first, unless a volume or CA rotation needs the old one gone; dropletPreventDestroy protects it', () => {
    expect(onlyResource(synthDroplet({ volumeIds: ['vol-1'] }), 'digitalocean_droplet').lifecycle).toBeUndefined();
    expect(onlyResource(synthDroplet({ accessCaVersion: '1' }), 'digitalocean_droplet').lifecycle).toBeUndefined();
    expect(onlyResource(synthDroplet({ dropletCreateBeforeDestroy: false }), 'digitalocean_droplet').lifecycle).toBeUndefined();
    expect(onlyResource(synthDroplet({ dropletPreventDestroy: true }), 'digitalocean_droplet').lifecycle).toEqual({ create_before_destroy: true, prevent_destroy: true });
    expect(() => newDroplet({ volumeIds: ['vol-1'], dropletCreateBeforeDestroy: true })).toThrow(/dropletCreateBeforeDestroy cannot be true with volumeIds: a volume attaches to one droplet only/);
    expect(() => newDroplet({ accessCaVersion: '1', dropletCreateBeforeDestroy: true })).toThrow(/dropletCreateBeforeDestroy cannot be true with accessCaVersion/);
    const stack = newStack();
    new AccessDropletFleet(stack, 'Fleet', { ...fleetProps, dropletPreventDestroy: true });
    const json = JSON.parse(Testing.synth(stack));
    expect(Object.values(json.resource.digitalocean_droplet).map((d: any) => d.lifecycle)).toEqual([
      { create_before_destroy: true, prevent_destroy: true }, { create_before_destroy: true, prevent_destroy: true },
    ]);
  });

  test('every droplet depends on its firewall: no droplet without it', () => {
    const json = synthDroplet({});
    expect(onlyResource(json, 'digitalocean_droplet').depends_on).toEqual([`digitalocean_firewall.${Object.keys(json.resource.digitalocean_firewall)[0]}`]);
  });
});
