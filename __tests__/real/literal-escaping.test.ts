// Terraform never interpolates a value we meant literally: every config the constructs write
// passes through one function (lib/internal/escape.ts `literal`), and real terraform shows it on
// every resource type we emit: an unescaped `${var.x}` would make terraform fail on an undeclared
// variable, an unescaped `%{ if }` on a template directive.
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { AccessDroplet, AccessDropletFleet, AccessMode } from '../../lib';
import { CA_KEY, minimalProps } from '../fixtures';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, terraform } from './helpers';

const HOSTILE = '${var.x}%{ if true }y%{ endif }';
const EMAIL = 'x${var.x}%{if}@corp.com';
const OTHER = 'other${var.y}%{endif}@corp.com';

/** the stacks: every construct and mode, each literal field we accept holding template text. */
function synthAll(): string {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'stack');
  new AccessDroplet(stack, 'SelfHosted', {
    ...minimalProps,
    users: ['srhea@cloudflare.com', { email: EMAIL, unixName: 'xv' }],
    allow: { emails: [OTHER] },
    accessAppName: `App ${HOSTILE}`,
    accessTags: [`tag ${HOSTILE}`],
    vpcUuid: `vpc${HOSTILE}`,
    waitForReady: true,
    clientCloudflaredPath: `/opt/${HOSTILE}/cloudflared`,
  });
  new AccessDroplet(stack, 'Infra', {
    ...minimalProps,
    hostname: 'bastion.widgetcorp.tech',
    zoneId: undefined,
    mode: AccessMode.INFRASTRUCTURE,
    infrastructureCaPublicKey: CA_KEY,
    virtualNetworkId: `vnet${HOSTILE}`,
    users: [{ email: EMAIL, unixName: 'xv' }],
    accessAppName: `Infra ${HOSTILE}`,
  });
  new AccessDropletFleet(stack, 'Fleet', {
    accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web',
    users: ['srhea@cloudflare.com'],
    hosts: [{ hostname: 'web-1.widgetcorp.tech', users: [{ email: EMAIL, unixName: 'xv' }] }, { hostname: 'web-2.widgetcorp.tech' }],
    accessSessionDuration: '8h',
  });
  return Testing.synth(stack);
}

// every resource and data source type the constructs write.
const ALL_TYPES = [
  'data.cloudflare_zero_trust_tunnel_cloudflared_token', 'resource.cloudflare_dns_record', 'resource.cloudflare_zero_trust_access_application', 'resource.cloudflare_zero_trust_access_infrastructure_target',
  'resource.cloudflare_zero_trust_access_policy', 'resource.cloudflare_zero_trust_access_short_lived_certificate',
  'resource.cloudflare_zero_trust_tunnel_cloudflared', 'resource.cloudflare_zero_trust_tunnel_cloudflared_config',
  'resource.cloudflare_zero_trust_tunnel_cloudflared_route', 'resource.digitalocean_droplet', 'resource.digitalocean_firewall',
  'resource.digitalocean_tag', 'resource.null_resource',
];

describeReal('every literal, resolved by terraform', [NEEDS.terraform], () => {
  let dir: string;
  let resolved: Record<string, any>;
  let types: string[];

  beforeAll(() => {
    const parsed = JSON.parse(synthAll());
    dir = makeTempDir('tf-literal');
    const outputs: Record<string, { value: unknown }> = {};
    types = [];
    for (const kind of ['resource', 'data', 'output']) {
      for (const [type, items] of Object.entries(parsed[kind] ?? {})) {
        if (kind !== 'output') types.push(`${kind}.${type}`);
        const entries = kind === 'output' ? [[type, items]] : Object.entries(items as object);
        for (const [name, config] of entries) {
          // references to our other resources become one declared variable; nothing else may
          // look like an expression.
          const text = JSON.stringify(kind === 'output' ? (config as any).value : config)
            .replace(/(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z][\w-]*_[0-9A-F]{8}\.[a-z0-9_]+/g, 'var.ref');
          outputs[`${kind}--${type}--${name}`.replace(/[^\w-]/g, '_')] = { value: JSON.parse(text) };
        }
      }
    }
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ variable: { ref: { type: 'string', default: 'REF' } }, output: outputs }));
    terraform(dir, ['init', '-input=false', '-no-color']);
    terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color']);
    const json = JSON.parse(terraform(dir, ['output', '-json']));
    resolved = Object.fromEntries(Object.entries(json).map(([k, v]: [string, any]) => [k, v.value]));
  });

  afterAll(() => removeTempDirs());

  const find = (prefix: string) => Object.entries(resolved).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);

  test('the stacks cover every resource type the constructs write', () => {
    expect(types.sort()).toEqual(ALL_TYPES);
  });

  test('policies keep the emails as written (reusable, host users, and infrastructure per-user policies)', () => {
    const includes = find('resource--cloudflare_zero_trust_access_policy--').map((p) => p.include.map((r: any) => r.email.email));
    expect(includes).toContainEqual(['srhea@cloudflare.com', EMAIL, OTHER]);
    expect(includes).toContainEqual([EMAIL]);
    const infra = find('resource--cloudflare_zero_trust_access_application--Infra_');
    expect(infra[0].name).toBe(`Infra ${HOSTILE}`);
    expect(infra[0].policies[0].include).toEqual([{ email: { email: EMAIL } }]);
  });

  test('applications keep their name and tags as written', () => {
    const [app] = find('resource--cloudflare_zero_trust_access_application--SelfHosted_');
    expect(app.name).toBe(`App ${HOSTILE}`);
    expect(app.tags).toEqual([`tag ${HOSTILE}`]);
  });

  test('droplets keep user_data and vpc_uuid as written', () => {
    const [droplet] = find('resource--digitalocean_droplet--SelfHosted_');
    expect(droplet.vpc_uuid).toBe(`vpc${HOSTILE}`);
    expect(droplet.user_data).toContain(`gecos: ${JSON.stringify(EMAIL)}`);
    expect(droplet.user_data).toContain('content: "REF\\n"');
    const [fleetDroplet] = find('resource--digitalocean_droplet--Fleet_Hosts_web-1');
    expect(fleetDroplet.user_data).toContain(`gecos: ${JSON.stringify(EMAIL)}`);
  });

  test('targets and routes keep the virtual network id as written', () => {
    const [target] = find('resource--cloudflare_zero_trust_access_infrastructure_target--');
    expect(target.ip.ipv4.virtual_network_id).toBe(`vnet${HOSTILE}`);
    const [route] = find('resource--cloudflare_zero_trust_tunnel_cloudflared_route--');
    expect(route.virtual_network_id).toBe(`vnet${HOSTILE}`);
    expect(route.network).toBe('REF/32');
  });

  test('outputs keep the client cloudflared path as written', () => {
    const [ssh] = find('output--SelfHosted_SshConfig');
    expect(ssh).toContain(`ProxyCommand /opt/${HOSTILE}/cloudflared access ssh --hostname %h`);
  });

  test('the rest resolve to what was synthesized, references aside (tunnels, configs, DNS, firewalls, tags, null_resource, token)', () => {
    const [dns] = find('resource--cloudflare_dns_record--SelfHosted_');
    expect(dns).toMatchObject({ name: 'droplet.widgetcorp.tech', content: 'REF.cfargotunnel.com', comment: 'Cloudflare Tunnel for droplet-widgetcorp-tech (cdktf-access-droplet)' });
    const [wait] = find('resource--null_resource--SelfHosted_');
    expect(wait.provisioner[0]['local-exec'].environment.WAIT_HOSTNAME).toBe('droplet.widgetcorp.tech');
    expect(find('resource--digitalocean_tag--').map((t) => t.name).sort()).toEqual([
      'access-droplet-bastion-widgetcorp-tech', 'access-droplet-droplet-widgetcorp-tech', 'access-fleet-web',
    ]);
  });
});
