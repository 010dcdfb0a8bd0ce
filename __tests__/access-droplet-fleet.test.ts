import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { Tag } from '@cdktf/provider-digitalocean/lib/tag';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode, FleetHost, UnixNameStyle } from '../lib';
import { fleetLimitWarnings } from '../lib/plan/limits';
import { accountsOf, CA_KEY, inlineUserData, resourcesOf } from './fixtures';

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

/** every resource and data source address of a synthesized stack, sorted. */
function addressesOf(parsed: any): string[] {
  const out: string[] = [];
  for (const kind of ['resource', 'data']) {
    for (const [t, items] of Object.entries(parsed[kind] ?? {})) {
      for (const n of Object.keys(items as object)) out.push(`${kind === 'data' ? 'data.' : ''}${t}.${n}`);
    }
  }
  // added since v0.1.0, moving nothing: the organization, read for the team cloudflared checks tokens for.
  return out.filter((a) => a !== 'data.cloudflare_zero_trust_organization.Fleet_Access_Organization_B4BAB614').sort();
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

  test('shares one policy and one firewall by tag; each host has its own app + CA, tunnel, DNS record and droplet', () => {
    const out = synth();
    const parsed = JSON.parse(out);
    const count = (t: string) => Object.keys(parsed.resource[t] ?? {}).length;
    expect(count('cloudflare_zero_trust_access_policy')).toBe(1);
    expect(count('digitalocean_firewall')).toBe(1);
    expect(count('digitalocean_tag')).toBe(1);
    for (const t of [
      'cloudflare_zero_trust_access_application', 'cloudflare_zero_trust_access_short_lived_certificate',
      'cloudflare_zero_trust_tunnel_cloudflared', 'cloudflare_zero_trust_tunnel_cloudflared_config', 'cloudflare_dns_record', 'digitalocean_droplet',
    ]) {
      expect(count(t)).toBe(7);
    }
    expect(Object.keys(parsed.data.cloudflare_zero_trust_tunnel_cloudflared_token)).toHaveLength(7);
    const apps = parsed.resource.cloudflare_zero_trust_access_application as Record<string, any>;
    // addressed by hostname, never by position.
    expect(Object.keys(apps).map((k) => k.replace(/_[0-9A-F]{8}$/, '')).sort()).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((n) => `Fleet_Hosts_web-${n}-widgetcorp-tech_Access_AccessApp`).sort(),
    );
    for (const app of Object.values(apps)) {
      expect(app.destinations).toEqual([{ type: 'public', uri: app.domain }]);
      expect(app.name).toBe(`web ${app.domain}`);
      expect(app.policies).toEqual([{ id: expect.stringMatching(/^\$\{cloudflare_zero_trust_access_policy\.Fleet_Access_AccessPolicy_[0-9A-F]+\.id\}$/), precedence: 1 }]);
    }
  });

  test('accessGroupSize groups counted hosts by index, exactly as v0.1.0 did (same addresses, same CA per droplet)', () => {
    const v010 = JSON.parse(readFileSync(join(__dirname, 'fleet-v0.1.0.json'), 'utf8'));
    const parsed = JSON.parse(synth({ count: 12, accessGroupSize: 5 }));
    expect(addressesOf(parsed)).toEqual(v010.addresses);
    const caOf = Object.fromEntries(Object.entries(parsed.resource.digitalocean_droplet as Record<string, any>).map(([n, d]) => [
      `digitalocean_droplet.${n}`, /(cloudflare_zero_trust_access_short_lived_certificate\.[\w-]+)\.public_key/.exec(d.user_data)![1],
    ]));
    expect(caOf).toEqual(v010.caOf);
    const apps = resourcesOf(JSON.stringify(parsed), 'cloudflare_zero_trust_access_application');
    expect(apps.map((a) => [a.name, a.destinations.length])).toEqual([['web-1', 5], ['web-2', 5], ['web-3', 2]]);
  });

  test('v010AccessGroup gives listed hosts v0.1.0\'s groups, so they keep v0.1.0\'s addresses', () => {
    const v010 = JSON.parse(readFileSync(join(__dirname, 'fleet-v0.1.0.json'), 'utf8'));
    const hosts = Array.from({ length: 12 }, (_, i) => ({ hostname: `web-${i + 1}.widgetcorp.tech`, accessGroup: AccessDropletFleet.v010AccessGroup(i) }));
    expect(addressesOf(JSON.parse(synth({ count: undefined, hostnamePattern: undefined, hosts })))).toEqual(v010.addresses);
    expect(() => AccessDropletFleet.v010AccessGroup(-1)).toThrow(/position -1 must be a whole number from 0/);
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

  test('each droplet trusts the CA of its own application and gets its own tunnel token', () => {
    const out = synth();
    const droplets = resourcesOf(out, 'digitalocean_droplet');
    const caOf = (d: any) => /short_lived_certificate\.(Fleet_Hosts_[\w-]+?_Access_ShortLivedCertificate)_/.exec(d.user_data)![1];
    expect(droplets.map(caOf)).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `Fleet_Hosts_web-${n}-widgetcorp-tech_Access_ShortLivedCertificate`));
    const tokenOf = (d: any) => /cloudflared_token\.(Fleet_Hosts_[\w-]+?_Tunnel_Token)_/.exec(d.user_data)![1];
    expect(new Set(droplets.map(tokenOf)).size).toBe(7);
  });

  test('per-host overrides and extra users apply to that host only', () => {
    const out = synth(listed);
    const [a, b] = resourcesOf(out, 'digitalocean_droplet');
    expect(a).toMatchObject({ name: 'a.widgetcorp.tech', size: 's-1vcpu-1gb', region: 'nyc3' });
    expect(b).toMatchObject({ name: 'b.widgetcorp.tech', size: 's-2vcpu-4gb', region: 'fra1' });
    expect(Object.keys(accountsOf(a))).not.toContain('jdoe');
    expect(Object.keys(accountsOf(b))).toContain('jdoe');
    // the extra user passes Access through a second policy on b's application only.
    const policies = resourcesOf(out, 'cloudflare_zero_trust_access_policy');
    expect(policies.map((p) => p.include)).toEqual([
      [{ email: { email: 'srhea@cloudflare.com' } }],
      [{ email: { email: 'jane.doe@example.com' } }],
    ]);
    const [appA, appB] = resourcesOf(out, 'cloudflare_zero_trust_access_application');
    expect(appA.policies).toHaveLength(1);
    expect(appB.policies).toHaveLength(2);
    expect(appB.policies[1].id).toMatch(/^\$\{cloudflare_zero_trust_access_policy\.Fleet_Hosts_b-widgetcorp-tech_Access_HostUsersPolicy_/);
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
    ['fails on a bad host size', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech', size: 'Big One' }] }, /hosts\[0\]\.size "Big One" is not a DigitalOcean droplet size slug/],
    ['fails on no users', { users: [] }, /users is empty/],
    ['fails on a bad fleet name', { name: 'Web Fleet' }, /name "Web Fleet" must be 1-63 lower-case letters/],
    ['fails on count without hostnamePattern, saying so', { hostnamePattern: undefined }, /^count 7 needs hostnamePattern to name the hosts, e\.g\. hostnamePattern: "web-\{index\}\.widgetcorp\.tech"; or list them in hosts$/],
    ['fails on hostnamePattern without count', { count: undefined }, /hostnamePattern "web-\{index\}\.widgetcorp\.tech" needs count/],
    ['fails on an unknown prop instead of ignoring it', { hostname: 'x.widgetcorp.tech' }, /^hostname is not a prop of AccessDropletFleet and would be ignored; remove it/],
    ['fails on an unknown host prop instead of ignoring it', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech', sizee: 's-2vcpu-4gb' }] }, /^hosts\[0\]\.sizee is not a prop of FleetHost and would be ignored/],
    ['fails on an access group of six hosts', { ...listed, hosts: [1, 2, 3, 4, 5, 6].map((n) => ({ hostname: `w${n}.widgetcorp.tech`, accessGroup: 'a' })) }, /access group "a" has more than 5 hosts \(w1\.widgetcorp\.tech, .*w6\.widgetcorp\.tech\): an Access application covers at most 5 hostnames/],
    ['fails on a bad access group key', { ...listed, hosts: [{ hostname: 'a.widgetcorp.tech', accessGroup: 'Group A' }] }, /hosts\[0\]\.accessGroup "Group A" must be 1-32 lower-case letters/],
    ['fails on accessGroupSize with listed hosts', { ...listed, accessGroupSize: 5 }, /accessGroupSize applies to counted hosts .* give listed hosts an accessGroup each instead/],
    ['fails on accessGroupSize above five', { accessGroupSize: 6 }, /accessGroupSize 6 must be a whole number from 1 to 5/],
    ['fails on an unknown mode', { mode: 'warp' }, /mode "warp" is not one of self_hosted, infrastructure/],
    ['fails on infrastructure props in self-hosted mode', { virtualNetworkId: 'vnet1' }, /infrastructureCaPublicKey and virtualNetworkId apply to infrastructure mode only/],
    ['fails on a self-hosted fleet without zoneName', { zoneName: undefined }, /zoneName is required in self-hosted mode/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletFleetProps>)).toThrow(message);
  });

  test('warns once about what every host shares, on the fleet, not once per host', () => {
    const fleet = construct({ users: [{ email: 'srhea@cloudflare.com', groups: ['adm'] }], count: 4, allowPortForwarding: true });
    const all = fleet.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data)));
    expect(all.filter((w) => /joins group "adm"/.test(w))).toHaveLength(1);
    expect(all.filter((w) => /allowPortForwarding/.test(w))).toHaveLength(1);
    expect(fleet.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data)))
      .toEqual(expect.arrayContaining([expect.stringMatching(/joins group "adm"/)]));
  });

  test('warns above Cloudflare\'s default tunnel limit', () => {
    const fleet = construct({ count: 1001 });
    const warnings = fleet.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    expect(warnings).toEqual([
      expect.stringMatching(/1001 hosts, one tunnel each, over Cloudflare's default of 1000 tunnels per account/),
      expect.stringMatching(/1001 Access applications \(one per host without an access group\), over Cloudflare's default of 500 per account; put hosts into access groups/),
    ]);
  });

  test('warns above each of Cloudflare\'s default account limits, and not below them (fleetLimitWarnings)', () => {
    const hosts = (n: number, f: (i: number) => { group?: string; users?: string[] } = () => ({})) =>
      Array.from({ length: n }, (_, i) => ({ group: f(i).group, spec: { users: f(i).users } }));
    expect(fleetLimitWarnings(hosts(500), false)).toEqual([]);
    expect(fleetLimitWarnings(hosts(501), false)).toEqual([expect.stringMatching(/^the fleet defines 501 Access applications \(one per host without an access group\), over Cloudflare's default of 500 per account; put hosts into access groups/)]);
    // access groups of five keep 2500 hosts at 500 applications (tunnels still warn).
    expect(fleetLimitWarnings(hosts(2500, (i) => ({ group: String(Math.floor(i / 5)) })), false)).toEqual([
      expect.stringMatching(/2500 hosts, one tunnel each, over Cloudflare's default of 1000 tunnels per account/),
    ]);
    // 500 hosts in groups of five with users of their own: 100 host-user policies + the fleet's.
    expect(fleetLimitWarnings(hosts(500, (i) => ({ group: String(Math.floor(i / 5)), users: ['a@example.com'] })), false)).toEqual([]);
    expect(fleetLimitWarnings(hosts(500, () => ({ users: ['a@example.com'] })), false)).toEqual([
      expect.stringMatching(/^the fleet defines 501 reusable Access policies \(one for the fleet, one per application whose hosts have users of their own\)/),
    ]);
    // infrastructure mode: no reusable policies, but routes and targets.
    expect(fleetLimitWarnings(hosts(1001, (i) => ({ group: String(Math.floor(i / 5)), users: ['a@example.com'] })), true)).toEqual([
      expect.stringMatching(/1001 hosts, one tunnel each/),
      expect.stringMatching(/1001 hosts, one tunnel route each, over Cloudflare's default of 1000 routes per account/),
    ]);
    expect(fleetLimitWarnings(hosts(5001, (i) => ({ group: String(Math.floor(i / 5)) })), true)).toContainEqual(
      expect.stringMatching(/5001 hosts, one infrastructure target each, over Cloudflare's default of 5000 targets per account/),
    );
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
    expect(Object.keys(accountsOf(d)).sort()).toEqual(['ann_ops', 'jane_doe']);
    expect(accountsOf(d).jane_doe.principals).toEqual(['Jane.Doe+ops', 'jane.doe+ops']);
  }
});

describe('AccessDropletFleet membership changes touch only the host that changed', () => {
  const twelve = Array.from({ length: 12 }, (_, i) => ({
    hostname: `web-${i + 1}.widgetcorp.tech`,
    // a host with users of its own, so its extra policy is part of what must stay put.
    ...(i === 7 ? { users: [{ email: 'jane.doe@example.com', unixName: 'jdoe' }] } : {}),
  }));
  const infrastructureProps: Partial<AccessDropletFleetProps> = {
    mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: CA_KEY,
  };

  /** every resource and data source of the fleet, by address, parsed (outputs left out). */
  function byAddress(hosts: FleetHost[], props: Partial<AccessDropletFleetProps> = {}): Map<string, unknown> {
    const parsed = JSON.parse(synth({ count: undefined, hostnamePattern: undefined, hosts, ...props }));
    const out = new Map<string, unknown>();
    for (const kind of ['resource', 'data']) {
      for (const [t, items] of Object.entries(parsed[kind] ?? {})) {
        for (const [n, config] of Object.entries(items as object)) out.set(`${kind}.${t}.${n}`, config);
      }
    }
    return out;
  }

  /** the addresses whose config differs between the two fleets (added, removed or changed). */
  function changed(a: Map<string, unknown>, b: Map<string, unknown>): string[] {
    return [...new Set([...a.keys(), ...b.keys()])]
      .filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)))
      .sort();
  }

  const onlyHost = (n: number) => (address: string) => address.includes(`_Hosts_web-${n}-widgetcorp-tech_`);

  describe.each([
    ['self-hosted', {}],
    ['infrastructure', infrastructureProps],
  ])('%s mode', (_mode, props) => {
    const before = byAddress(twelve, props);

    test('removing a middle host changes only its own resources', () => {
      const diff = changed(before, byAddress(twelve.filter((_, i) => i !== 5), props));
      expect(diff.length).toBeGreaterThanOrEqual(6);
      expect(diff.every(onlyHost(6))).toBe(true);
      expect(diff.every((a) => before.has(a))).toBe(true);
    });

    test('appending a host adds only its own resources', () => {
      const diff = changed(before, byAddress([...twelve, { hostname: 'web-13.widgetcorp.tech' }], props));
      expect(diff.length).toBeGreaterThanOrEqual(6);
      expect(diff.every(onlyHost(13))).toBe(true);
    });

    test('reordering the hosts changes nothing', () => {
      expect(changed(before, byAddress([...twelve].reverse(), props))).toEqual([]);
      expect(changed(before, byAddress([twelve[7], ...twelve.filter((_, i) => i !== 7)], props))).toEqual([]);
    });

    test('removing the host with its own users removes its extra policy, and touches no other host', () => {
      const diff = changed(before, byAddress(twelve.filter((_, i) => i !== 7), props));
      expect(diff.every(onlyHost(8))).toBe(true);
    });
  });

  test('in an access group, a member leaving updates the group application only: no droplet, CA or other host changes', () => {
    const grouped = twelve.map((h, i) => ({ ...h, accessGroup: AccessDropletFleet.v010AccessGroup(i) }));
    const before = byAddress(grouped);
    const diff = changed(before, byAddress(grouped.filter((_, i) => i !== 2)));
    expect(diff.filter((a) => !onlyHost(3)(a))).toEqual([expect.stringMatching(/^resource\.cloudflare_zero_trust_access_application\.Fleet_Access_App1_AccessApp_/)]);
  });
});

describe('AccessDropletFleet in infrastructure mode', () => {
  const infra: Partial<AccessDropletFleetProps> = {
    mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: CA_KEY, virtualNetworkId: 'vnet123',
    users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }], count: 3,
  };

  test('per host a target at its private address and a tunnel route; per host an infrastructure app with one policy per user', () => {
    const out = synth(infra);
    const parsed = JSON.parse(out);
    const count = (t: string) => Object.keys(parsed.resource[t] ?? {}).length;
    expect(count('cloudflare_zero_trust_access_infrastructure_target')).toBe(3);
    expect(count('cloudflare_zero_trust_tunnel_cloudflared_route')).toBe(3);
    expect(count('cloudflare_zero_trust_access_application')).toBe(3);
    // no short-lived certificates, no public DNS records, no reusable policy.
    expect(count('cloudflare_zero_trust_access_short_lived_certificate')).toBe(0);
    expect(count('cloudflare_dns_record')).toBe(0);
    expect(count('cloudflare_zero_trust_access_policy')).toBe(0);
    for (const config of resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config')) {
      expect(config.config.ingress).toEqual([{ service: 'http_status:404' }]);
    }
    const targets = parsed.resource.cloudflare_zero_trust_access_infrastructure_target as Record<string, any>;
    const routes = parsed.resource.cloudflare_zero_trust_tunnel_cloudflared_route as Record<string, any>;
    for (const n of [1, 2, 3]) {
      const host = `Fleet_Hosts_web-${n}-widgetcorp-tech`;
      const droplet = Object.keys(parsed.resource.digitalocean_droplet).find((k) => k.startsWith(`${host}_Droplet_`))!;
      const [target] = Object.entries(targets).filter(([k]) => k.startsWith(`${host}_Access_Target_`)).map(([, v]) => v);
      expect(target).toEqual({
        account_id: 'acc123', hostname: `web-${n}.widgetcorp.tech`,
        ip: { ipv4: { ip_addr: `\${digitalocean_droplet.${droplet}.ipv4_address_private}`, virtual_network_id: 'vnet123' } },
      });
      const [route] = Object.entries(routes).filter(([k]) => k.startsWith(`${host}_Tunnel_Route_`)).map(([, v]) => v);
      expect(route.network).toBe(`\${digitalocean_droplet.${droplet}.ipv4_address_private}/32`);
      expect(route.tunnel_id).toMatch(new RegExp(`^\\$\\{cloudflare_zero_trust_tunnel_cloudflared\\.${host}_Tunnel_[0-9A-F]{8}\\.id\\}$`));
      expect(route.virtual_network_id).toBe('vnet123');
    }
    for (const app of resourcesOf(out, 'cloudflare_zero_trust_access_application')) {
      expect(app.type).toBe('infrastructure');
      expect(app.target_criteria).toEqual([{ port: 22, protocol: 'SSH', target_attributes: { hostname: [expect.stringMatching(/^web-\d\.widgetcorp\.tech$/)] } }]);
      // each policy allows exactly one user's own Unix name.
      expect(app.policies.map((p: any) => [p.include, p.connection_rules.ssh])).toEqual([
        [[{ email: { email: 'srhea@cloudflare.com' } }], { usernames: ['srhea'], allow_email_alias: false }],
        [[{ email: { email: 'jane.doe@example.com' } }], { usernames: ['jdoe'], allow_email_alias: false }],
      ]);
    }
    // the droplets trust the account's SSH CA, for the Unix name as principal.
    for (const d of resourcesOf(out, 'digitalocean_droplet')) {
      expect(d.user_data).toContain(`content: "${CA_KEY}\\n"`);
      expect(d.user_data).not.toContain('short_lived_certificate');
      expect(accountsOf(d).jdoe.principals).toEqual(['jdoe']);
    }
  });

  test('a host\'s own users get a policy on its application only; an access group shares one application', () => {
    const hosts = [
      { hostname: 'a.widgetcorp.tech', users: [{ email: 'ops@example.com', unixName: 'ops' }] },
      { hostname: 'b.widgetcorp.tech' },
      { hostname: 'c.widgetcorp.tech', accessGroup: 'g' },
      { hostname: 'd.widgetcorp.tech', accessGroup: 'g' },
    ];
    const parsed = JSON.parse(synth({ ...infra, count: undefined, hostnamePattern: undefined, hosts }));
    const apps = parsed.resource.cloudflare_zero_trust_access_application as Record<string, any>;
    const appOf = (prefix: string) => Object.entries(apps).find(([k]) => k.startsWith(prefix))![1];
    const usernames = (app: any) => app.policies.map((p: any) => p.connection_rules.ssh.usernames[0]);
    expect(usernames(appOf('Fleet_Hosts_a-widgetcorp-tech_Access_AccessApp_'))).toEqual(['srhea', 'jdoe', 'ops']);
    expect(usernames(appOf('Fleet_Hosts_b-widgetcorp-tech_Access_AccessApp_'))).toEqual(['srhea', 'jdoe']);
    const group = appOf('Fleet_Access_Appg_AccessApp_');
    expect(group.target_criteria[0].target_attributes.hostname).toEqual(['c.widgetcorp.tech', 'd.widgetcorp.tech']);
    expect(Object.keys(apps)).toHaveLength(3);
  });

  test('the ssh config names each host\'s private address', () => {
    const fleet = construct({ ...infra, count: 2 });
    expect(fleet.sshConfig.match(/^Host web-\d\.widgetcorp\.tech$/gm)).toEqual(['Host web-1.widgetcorp.tech', 'Host web-2.widgetcorp.tech']);
    expect(fleet.mode).toBe(AccessMode.INFRASTRUCTURE);
    expect(fleet.accessPolicy).toBeUndefined();
    expect(fleet.hosts.every((h) => h.infrastructureTarget !== undefined && h.tunnelRoute !== undefined && h.dnsRecord === undefined)).toBe(true);
  });

  test.each([
    ['fails without infrastructureCaPublicKey', { infrastructureCaPublicKey: undefined }, /infrastructureCaPublicKey is required in infrastructure mode/],
    ['fails on zoneId, which would be ignored', { zoneId: 'zone123' }, /zoneId has no effect in infrastructure mode/],
    ['fails on allow, which would be ignored', { allow: { emailDomains: ['example.com'] } }, /allow has no effect in infrastructure mode/],
    ['fails on accessInclude, which would be ignored', { accessInclude: [] }, /accessInclude has no effect in infrastructure mode/],
    ['fails on accessSessionDuration, which would be ignored', { accessSessionDuration: '8h' }, /accessSessionDuration is not supported for infrastructure applications/],
    ['fails on clientCloudflaredPath, which would be ignored', { clientCloudflaredPath: '/opt/cloudflared' }, /clientCloudflaredPath has no effect in infrastructure mode/],
  ])('%s', (_n, props, message) => {
    expect(() => construct({ ...infra, ...props } as Partial<AccessDropletFleetProps>)).toThrow(message);
  });
});

describe('a fleet of one and an AccessDroplet', () => {
  /** the resources under one prefix, by type and id relative to it, hashes and the prefix normalized away. */
  function hostPart(parsed: any, prefix: string): Record<string, unknown> {
    const norm = (text: string) => text.split(prefix).join('HOST_').replace(/_[0-9A-F]{8}\b/g, '');
    const out: Record<string, unknown> = {};
    for (const kind of ['resource', 'data']) {
      for (const [t, items] of Object.entries(parsed[kind] ?? {})) {
        for (const [n, config] of Object.entries(items as object)) {
          if (n.startsWith(prefix)) out[norm(`${kind}.${t}.${n}`)] = JSON.parse(norm(JSON.stringify(config)));
        }
      }
    }
    return out;
  }

  test.each([
    ['self-hosted', {}, {}],
    ['infrastructure', { mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: CA_KEY }, { mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: CA_KEY }],
  ])('%s: the same host resources at the same relative addresses; they differ only in what the fleet shares', (_mode, dropletExtra, fleetExtra) => {
    const users = ['srhea@cloudflare.com'];
    const single = inlineUserData(JSON.parse(Testing.synthScope((s) => new AccessDroplet(s, 'Test', {
      accountId: 'acc123', zoneId: 'zone123', hostname: 'web-1.widgetcorp.tech', users, ...dropletExtra,
    } as AccessDropletProps))));
    const fleet = inlineUserData(JSON.parse(synth({ count: 1, users, ...fleetExtra })));
    const a = hostPart(single, 'Test_');
    const b = hostPart(fleet, 'Fleet_Hosts_web-1-widgetcorp-tech_');
    // what the single droplet owns and a fleet shares: its policy, tag and firewall.
    const shared = [
      'resource.cloudflare_zero_trust_access_policy.HOST_Access_AccessPolicy', 'resource.digitalocean_tag.HOST_Tag', 'resource.digitalocean_firewall.HOST_Firewall',
      'data.cloudflare_zero_trust_organization.HOST_Access_Organization',
    ];
    expect(Object.keys(a).filter((k) => !shared.includes(k)).sort()).toEqual(Object.keys(b).sort());
    // tunnel, config, token, DNS record or route, application, CA or target, droplet.
    expect(Object.keys(b)).toHaveLength(7);
    expect(Object.keys(a)).toHaveLength(_mode === 'self-hosted' ? 11 : 9);
    // the organization cloudflared checks Access tokens for: the droplet's own read, or the fleet's.
    const sameOrganization = (v: unknown) => JSON.parse(JSON.stringify(v).replace(/data\.cloudflare_zero_trust_organization\.[\w-]+?_Access_Organization\b/g, 'ORG'));
    for (const key of Object.keys(b)) {
      const [x, y] = [sameOrganization(a[key]), sameOrganization(b[key])];
      if (key.includes('access_application')) {
        // the application's name, and in self-hosted mode the policy it uses: the single droplet's own, the fleet's shared one.
        expect({ ...x, name: undefined, policies: x.type === 'self_hosted' ? undefined : x.policies.map((p: any) => ({ ...p, name: undefined })) })
          .toEqual({ ...y, name: undefined, policies: y.type === 'self_hosted' ? undefined : y.policies.map((p: any) => ({ ...p, name: undefined })) });
      } else if (key.includes('digitalocean_droplet')) {
        // the tag the firewall applies by, and the firewall it waits for: the droplet's own or the fleet's.
        expect({ ...x, tags: undefined, depends_on: undefined }).toEqual({ ...y, tags: undefined, depends_on: undefined });
        expect([x.depends_on, y.depends_on]).toEqual([['digitalocean_firewall.HOST_Firewall'], ['digitalocean_firewall.Fleet_Firewall']]);
      } else {
        expect(x).toEqual(y);
      }
    }
  });
});
