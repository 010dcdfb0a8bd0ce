import { Testing, TerraformStack } from 'cdktf';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { Tag } from '@cdktf/provider-digitalocean/lib/tag';
import { AccessDropletFleet, AccessDropletFleetProps, UnixNameStyle } from '../lib';
import { resourcesOf } from './fixtures';

const base: AccessDropletFleetProps = {
  accountId: 'acc123',
  zoneId: 'zone123',
  zoneName: 'widgetcorp.tech',
  name: 'web',
  users: ['srhea@cloudflare.com'],
  count: 7,
  hostnamePattern: 'web-{index}.widgetcorp.tech',
};

function synth(props: Partial<AccessDropletFleetProps> = {}): string {
  return Testing.synthScope((s) => new AccessDropletFleet(s, 'Fleet', { ...base, ...props } as AccessDropletFleetProps));
}

function construct(props: Partial<AccessDropletFleetProps>) {
  return new AccessDropletFleet(new TerraformStack(Testing.app(), 'stack'), 'Fleet', { ...base, ...props } as AccessDropletFleetProps);
}

const listed = {
  count: undefined,
  hostnamePattern: undefined,
  hosts: [
    { hostname: 'a.widgetcorp.tech' },
    { hostname: 'b.widgetcorp.tech', size: 's-2vcpu-4gb', region: 'fra1', users: [{ email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }] },
  ],
};

describe('AccessDropletFleet', () => {
  test('synthesizes a listed fleet with per-host overrides (snapshot)', () => {
    expect(synth(listed)).toMatchSnapshot();
  });

  test('shares one policy, one firewall by tag, and one app + CA per five hosts', () => {
    const out = synth();
    const parsed = JSON.parse(out);
    const count = (t: string) => Object.keys(parsed.resource[t] ?? {}).length;
    expect(count('cloudflare_zero_trust_access_policy')).toBe(1);
    expect(count('digitalocean_firewall')).toBe(1);
    expect(count('digitalocean_tag')).toBe(1);
    expect(count('cloudflare_zero_trust_access_application')).toBe(2);
    expect(count('cloudflare_zero_trust_access_short_lived_certificate')).toBe(2);
    // each host keeps its own tunnel, config, token, DNS record and droplet.
    for (const t of ['cloudflare_zero_trust_tunnel_cloudflared', 'cloudflare_zero_trust_tunnel_cloudflared_config', 'cloudflare_dns_record', 'digitalocean_droplet']) {
      expect(count(t)).toBe(7);
    }
    expect(Object.keys(parsed.data.cloudflare_zero_trust_tunnel_cloudflared_token)).toHaveLength(7);
    const apps = resourcesOf(out, 'cloudflare_zero_trust_access_application');
    expect(apps.map((a) => a.destinations.map((d: any) => d.uri))).toEqual([
      ['web-1.widgetcorp.tech', 'web-2.widgetcorp.tech', 'web-3.widgetcorp.tech', 'web-4.widgetcorp.tech', 'web-5.widgetcorp.tech'],
      ['web-6.widgetcorp.tech', 'web-7.widgetcorp.tech'],
    ]);
    for (const app of apps) {
      expect(app.policies).toEqual([{ id: expect.stringMatching(/^\$\{cloudflare_zero_trust_access_policy\.Fleet_Access_AccessPolicy_[0-9A-F]+\.id\}$/), precedence: 1 }]);
    }
  });

  test('firewall has no inbound rule and applies by the fleet tag, which every droplet carries', () => {
    const out = synth();
    expect(out).not.toMatch(/inbound_rule/);
    expect(out).toHaveResourceWithProperties(Tag, { name: 'access-fleet-web' });
    const [fw] = resourcesOf(out, 'digitalocean_firewall');
    expect(fw.droplet_ids).toBeUndefined();
    expect(fw.tags).toEqual([expect.stringMatching(/^\$\{digitalocean_tag\.Fleet_Tag_[0-9A-F]+\.name\}$/)]);
    expect(out).toHaveResourceWithProperties(Firewall, { name: 'web-fw' });
    for (const d of resourcesOf(out, 'digitalocean_droplet')) {
      expect(d.tags[0]).toBe(fw.tags[0]);
    }
  });

  test('each droplet trusts the CA of the application that covers it and gets its own tunnel token', () => {
    const out = synth();
    const droplets = resourcesOf(out, 'digitalocean_droplet');
    const caOf = (d: any) => /short_lived_certificate\.(Fleet_Access_App\d+_ShortLivedCertificate)_/.exec(d.user_data)![1];
    expect(droplets.map(caOf)).toEqual([1, 1, 1, 1, 1, 2, 2].map((n) => `Fleet_Access_App${n}_ShortLivedCertificate`));
    const tokenOf = (d: any) => /cloudflared_token\.(Fleet_Hosts_[\w-]+?_Tunnel_Token)_/.exec(d.user_data)![1];
    expect(new Set(droplets.map(tokenOf)).size).toBe(7);
  });

  test('per-host overrides and extra users apply to that host only', () => {
    const out = synth(listed);
    const [a, b] = resourcesOf(out, 'digitalocean_droplet');
    expect(a).toMatchObject({ name: 'a.widgetcorp.tech', size: 's-1vcpu-1gb', region: 'nyc3' });
    expect(b).toMatchObject({ name: 'b.widgetcorp.tech', size: 's-2vcpu-4gb', region: 'fra1' });
    expect(a.user_data).not.toContain('name: jdoe');
    expect(b.user_data).toContain('name: jdoe');
    // the extra user passes Access through a second policy on the app that covers the host.
    const policies = resourcesOf(out, 'cloudflare_zero_trust_access_policy');
    expect(policies.map((p) => p.include)).toEqual([
      [{ email: { email: 'srhea@cloudflare.com' } }],
      [{ email: { email: 'jane.doe@example.com' } }],
    ]);
    const [app] = resourcesOf(out, 'cloudflare_zero_trust_access_application');
    expect(app.policies).toHaveLength(2);
  });

  test('outputs one ssh config covering every host', () => {
    const fleet = construct({ count: 3 });
    expect(fleet.sshConfig.match(/^Match host /gm)).toHaveLength(3);
    expect(fleet.sshConfig).toContain('Match host web-3.widgetcorp.tech exec');
    const parsed = JSON.parse(Testing.synth(fleet.node.scope as TerraformStack));
    const outputs = Object.values(parsed.output) as any[];
    expect(outputs.map((o) => o.value)).toContainEqual(fleet.sshConfig);
    expect(outputs.map((o) => o.value)).toContainEqual(['web-1.widgetcorp.tech', 'web-2.widgetcorp.tech', 'web-3.widgetcorp.tech']);
  });

  test('reordering hosts keeps each host\'s Terraform addresses (ids come from the hostname)', () => {
    const ids = (hosts: { hostname: string }[]) => Object.keys(JSON.parse(synth({ ...listed, hosts })).resource.digitalocean_droplet).sort();
    const ab = ids([{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech' }]);
    expect(ab).toEqual([expect.stringMatching(/^Fleet_Hosts_a-widgetcorp-tech_Droplet_/), expect.stringMatching(/^Fleet_Hosts_b-widgetcorp-tech_Droplet_/)]);
    expect(ids([{ hostname: 'b.widgetcorp.tech' }, { hostname: 'a.widgetcorp.tech' }])).toEqual(ab);
  });
});

describe('AccessDropletFleet bad input', () => {
  test.each([
    ['fails on an empty fleet', { count: undefined, hostnamePattern: undefined, hosts: [] }, /the fleet is empty/],
    ['fails on a zero count', { count: 0 }, /count 0 must be a whole number of hosts, at least 1/],
    ['fails on a pattern without {index}', { hostnamePattern: 'web.widgetcorp.tech' }, /hostnamePattern "web\.widgetcorp\.tech" must contain "\{index\}"/],
    ['fails on both hosts and count', { hosts: [{ hostname: 'a.widgetcorp.tech' }] }, /either hosts, or count with hostnamePattern, not both/],
    ['fails on duplicate hostnames', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'a.widgetcorp.tech' }] }, /hosts\[1\]\.hostname "a\.widgetcorp\.tech" is listed twice \(also host 1\)/],
    ['fails on a host in another zone', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.example.com' }] }, /hosts\[1\]\.hostname "b\.example\.com" is not in zone "widgetcorp\.tech"/],
    ['fails on a lookalike zone', { ...listed, hosts: [{ hostname: 'a.evilwidgetcorp.tech' }] }, /hosts\[0\]\.hostname "a\.evilwidgetcorp\.tech" is not in zone/],
    ['fails on a counted host in another zone', { hostnamePattern: 'web-{index}.example.com' }, /hostnamePattern \(host 1\) "web-1\.example\.com" is not in zone "widgetcorp\.tech"/],
    ['fails on an invalid host hostname', { ...listed, hosts: [{ hostname: 'a_b.widgetcorp.tech' }] }, /hosts\[0\]\.hostname "a_b\.widgetcorp\.tech" is not a DNS name/],
    ['fails on a host user clashing with a common user', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech', users: [{ email: 'other@example.com', unixName: 'srhea' }] }] }, /hosts\[0\] \(a\.widgetcorp\.tech\) users\[1\] unix name "srhea" \(other@example\.com\) is already used by srhea@cloudflare\.com/],
    ['fails on a bad host size', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech', size: 'Big One' }] }, /hosts\[0\]\.size "Big One" is not a DigitalOcean slug/],
    ['fails on no users', { users: [] }, /users is empty/],
    ['fails on a bad fleet name', { name: 'Web Fleet' }, /name "Web Fleet" must be 1-63 lower-case letters/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletFleetProps>)).toThrow(message);
  });

  test('warns above Cloudflare\'s default tunnel limit', () => {
    const fleet = construct({ count: 1001 });
    const warnings = fleet.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    expect(warnings).toEqual([expect.stringMatching(/1001 hosts, one tunnel each, over Cloudflare's default of 1000 tunnels per account/)]);
  });
});

test('waitForReady adds one poller per host, each after its own droplet and tunnel', () => {
  const parsed = JSON.parse(synth({ count: 2, waitForReady: true }));
  const waits = Object.values(parsed.resource.null_resource) as any[];
  expect(waits).toHaveLength(2);
  expect(waits.map((w) => w.provisioner[0]['local-exec'].environment.WAIT_HOSTNAME)).toEqual(['web-1.widgetcorp.tech', 'web-2.widgetcorp.tech']);
  expect(waits[0].depends_on[0]).toMatch(/^digitalocean_droplet\.Fleet_Hosts_web-1-widgetcorp-tech_Droplet_/);
  expect(waits[0].provisioner[0]['local-exec'].environment.WAIT_TIMEOUT_SEC).toBe('600');
  // one copy of the poller serves every host.
  expect(new Set(waits.map((w) => w.provisioner[0]['local-exec'].command)).size).toBe(1);
});

test('maps identities the same way on every host (unixNames, unixNameStyle)', () => {
  const out = synth({ count: 2, users: ['Jane.Doe+ops@example.com', 'ann@example.com'], unixNames: { 'ann@example.com': 'ann_ops' }, unixNameStyle: UnixNameStyle.NORMALIZED });
  for (const d of resourcesOf(out, 'digitalocean_droplet')) {
    expect(d.user_data).toContain('name: jane_doe');
    expect(d.user_data).toContain('name: ann_ops');
  }
});
