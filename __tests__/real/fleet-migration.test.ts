// A v0.1.0 fleet upgrades without losing a droplet: real terraform 1.x plans the new
// configuration against the state of the old one. The stand-in needs no provider: every
// resource and data source becomes a terraform_data at a name derived from its address, whose
// input is what must not change (for a droplet, the CA its user_data trusts).
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import { AccessDropletFleet, AccessDropletFleetProps } from '../../lib';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, terraform, terraformResult } from './helpers';

// the addresses and CAs v0.1.0 synthesized; __tests__/access-droplet-fleet.test.ts reads it too.
const v010 = JSON.parse(readFileSync(join(__dirname, '..', 'fleet-v0.1.0.json'), 'utf8')) as { addresses: string[]; caOf: Record<string, string> };

/** the provider-free stand-in of a set of addresses (droplets keyed to the CA they trust). */
function standIn(addresses: string[], caOf: Record<string, string>) {
  const resources: Record<string, { input: string }> = {};
  for (const address of addresses) {
    resources[address.replace(/\./g, '--')] = { input: caOf[address] === undefined ? 'same' : `trusts ${caOf[address]}` };
  }
  return { resource: { terraform_data: resources } };
}

/** the stand-in of the fleet these props synthesize today. */
function standInOf(props: Partial<AccessDropletFleetProps>) {
  const parsed = JSON.parse(Testing.synthScope((s) => new AccessDropletFleet(s, 'Fleet', {
    accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'],
    count: 12, hostnamePattern: 'web-{index}.widgetcorp.tech', ...props,
  } as AccessDropletFleetProps)));
  const addresses: string[] = [];
  const caOf: Record<string, string> = {};
  for (const kind of ['resource', 'data']) {
    for (const [t, items] of Object.entries(parsed[kind] ?? {})) {
      for (const [n, config] of Object.entries(items as Record<string, any>)) {
        const address = `${kind === 'data' ? 'data.' : ''}${t}.${n}`;
        // a data source v0.1.0 did not have (the organization, read since 0.3.0) is a read: it
        // creates and changes nothing, where its terraform_data stand-in would show as an add.
        if (kind === 'data' && !v010.addresses.includes(address)) continue;
        addresses.push(address);
        if (t === 'digitalocean_droplet') {
          caOf[address] = /(cloudflare_zero_trust_access_short_lived_certificate\.[\w-]+)\.public_key/.exec(config.user_data)![1];
        }
      }
    }
  }
  return standIn(addresses, caOf);
}

describeReal('a v0.1.0 fleet under real terraform', [NEEDS.terraform], () => {
  let dir: string;

  beforeAll(() => {
    dir = makeTempDir('fleet-migration');
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(standIn(v010.addresses, v010.caOf)));
    terraform(dir, ['init', '-input=false', '-no-color']);
    const apply = terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color']);
    expect(apply).toContain(`Apply complete! Resources: ${v010.addresses.length} added, 0 changed, 0 destroyed`);
  });

  afterAll(() => removeTempDirs());

  function plan(props: Partial<AccessDropletFleetProps>) {
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(standInOf(props)));
    return terraformResult(dir, ['plan', '-detailed-exitcode', '-input=false', '-no-color']);
  }

  test('with accessGroupSize: 5 the plan is empty: no droplet, application or CA changes', () => {
    const result = plan({ accessGroupSize: 5 });
    expect(result.stdout).toMatch(/No changes\. Your infrastructure matches the configuration/);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toMatch(/must be replaced|will be destroyed|will be updated/);
  });

  test('listed hosts with v010AccessGroup plan empty too', () => {
    const hosts = Array.from({ length: 12 }, (_, i) => ({ hostname: `web-${i + 1}.widgetcorp.tech`, accessGroup: AccessDropletFleet.v010AccessGroup(i) }));
    const result = plan({ count: undefined, hostnamePattern: undefined, hosts });
    expect(result.status).toBe(0);
  });

  test('without the migration, every droplet would trust a new CA (in the stand-in an update; DigitalOcean replaces a droplet whose user_data changes)', () => {
    const result = plan({});
    expect(result.status).toBe(2);
    expect(result.stdout).toMatch(/Plan: 24 to add, 12 to change, 6 to destroy/);
  });
});
