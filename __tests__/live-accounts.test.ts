// People change, hosts stay (issue 18.1): the user list travels in the droplets' tags, which
// DigitalOcean changes in place, so adding, removing or changing a person never changes a
// droplet's user_data (which would replace it), on an AccessDroplet or on a fleet.
import { Testing } from 'cdktf';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode, AccessUserInput } from '../lib';
import { accountsOf, CA_KEY, fleetProps, inlineUserData, minimalProps } from './fixtures';

const JANE: AccessUserInput = { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true, groups: ['www-data'] };

function droplet(props: Partial<AccessDropletProps>): any {
  return JSON.parse(Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, ...props } as AccessDropletProps)));
}
function fleet(props: Partial<AccessDropletFleetProps>): any {
  return JSON.parse(Testing.synthScope((s) => new AccessDropletFleet(s, 'Fleet', { ...fleetProps, count: 4, hostnamePattern: 'web-{index}.widgetcorp.tech', hosts: undefined, ...props } as AccessDropletFleetProps)));
}
const droplets = (json: any) => Object.values(inlineUserData(json).resource.digitalocean_droplet) as any[];
/** the JSON without what a change of people may change: droplet tags and the Access policies. */
function withoutPeople(json: any): any {
  const out = structuredClone(json);
  for (const d of droplets(out)) d.tags = d.tags.filter((t: string) => !t.startsWith('cdad:'));
  delete out.resource.cloudflare_zero_trust_access_policy;
  for (const app of Object.values(out.resource.cloudflare_zero_trust_access_application ?? {}) as any[]) {
    if (app.type === 'infrastructure') app.policies = undefined;
  }
  return out;
}

describe('a change of people replaces no droplet', () => {
  const variants: [string, AccessUserInput[]][] = [
    ['one user', ['srhea@cloudflare.com']],
    ['a colleague added', ['srhea@cloudflare.com', JANE]],
    ['her sudo revoked', ['srhea@cloudflare.com', { ...(JANE as object), sudo: false } as AccessUserInput]],
    ['her groups and Unix name changed', ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jane', groups: ['devs'] }]],
    ['the first user removed', [JANE]],
  ];

  test.each([['self-hosted', {}], ['infrastructure', { zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY }]] as const)(
    'AccessDroplet (%s): user_data byte-identical, only the account tags and Access change, and the tags carry each version', (_mode, extra) => {
      const outs = variants.map(([, users]) => droplet({ ...extra, users }));
      const userData = outs.map((o) => droplets(o)[0].user_data);
      expect(new Set(userData).size).toBe(1);
      expect(userData[0]).not.toMatch(/srhea|jdoe|jane/);
      for (const o of outs) expect(withoutPeople(o)).toEqual(withoutPeople(outs[0]));
      const accounts = outs.map((o) => accountsOf(droplets(o)[0]));
      expect(Object.keys(accounts[0])).toEqual(['srhea']);
      expect(accounts[1].jdoe).toMatchObject({ email: 'jane.doe@example.com', sudo: true, groups: ['www-data'] });
      expect(accounts[2].jdoe.sudo).toBe(false);
      expect(Object.keys(accounts[3]).sort()).toEqual(['jane', 'srhea']);
      expect(accounts[3].jane.groups).toEqual(['devs']);
      expect(Object.keys(accounts[4])).toEqual(['jdoe']);
    });

  test('a fleet-wide user added: every droplet keeps its user_data and every one gets the new account', () => {
    const before = fleet({});
    const after = fleet({ users: ['srhea@cloudflare.com', JANE] });
    expect(droplets(after).map((d) => d.user_data)).toEqual(droplets(before).map((d) => d.user_data));
    expect(withoutPeople(after)).toEqual(withoutPeople(before));
    for (const d of droplets(after)) expect(Object.keys(accountsOf(d)).sort()).toEqual(['jdoe', 'srhea']);
    for (const d of droplets(before)) expect(Object.keys(accountsOf(d))).toEqual(['srhea']);
  });

  test('one host\'s own user changes that host\'s tags only', () => {
    const hosts = [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech' }];
    const before = fleet({ count: undefined, hostnamePattern: undefined, hosts });
    const after = fleet({ count: undefined, hostnamePattern: undefined, hosts: [{ ...hosts[0], users: ['bob@cloudflare.com'] }, hosts[1]] });
    const [a0, b0] = droplets(before);
    const [a1, b1] = droplets(after);
    expect([a1.user_data, b1.user_data]).toEqual([a0.user_data, b0.user_data]);
    expect(b1.tags).toEqual(b0.tags);
    expect(Object.keys(accountsOf(a1)).sort()).toEqual(['bob', 'srhea']);
  });
});
