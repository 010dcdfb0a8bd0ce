import { Testing, TerraformStack } from 'cdktf';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { ZeroTrustTunnelCloudflaredConfigA } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { AccessDroplet, AccessDropletFleet, AccessDropletProps, AccessMode } from '../lib';
import { escapeTerraformTemplate } from '../lib/internal/escape';
import { accountsOf, CA_KEY, minimalProps, resourcesOf } from './fixtures';

function synth(props: Partial<AccessDropletProps> = {}): string {
  return Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, ...props }));
}

function construct(props: Partial<AccessDropletProps>) {
  const stack = new TerraformStack(Testing.app(), 'stack');
  return new AccessDroplet(stack, 'Test', { ...minimalProps, ...props } as AccessDropletProps);
}

describe('AccessDroplet', () => {
  test('synthesizes the documented stack (snapshot)', () => {
    expect(synth({ users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }] }))
      .toMatchSnapshot();
  });

  test('defines exactly the resources of the manual procedure, once each', () => {
    const parsed = JSON.parse(synth());
    const counts = Object.fromEntries(Object.entries(parsed.resource).map(([t, r]) => [t, Object.keys(r as object).length]));
    expect(counts).toEqual({
      cloudflare_dns_record: 1,
      cloudflare_zero_trust_access_application: 1,
      cloudflare_zero_trust_access_policy: 1,
      cloudflare_zero_trust_access_short_lived_certificate: 1,
      cloudflare_zero_trust_tunnel_cloudflared: 1,
      cloudflare_zero_trust_tunnel_cloudflared_config: 1,
      digitalocean_droplet: 1,
      digitalocean_firewall: 1,
      digitalocean_tag: 1,
    });
    expect(Object.keys(parsed.data).sort()).toEqual(['cloudflare_zero_trust_organization', 'cloudflare_zero_trust_tunnel_cloudflared_token']);
    // the construct configures no provider: that is the stack's job.
    expect(parsed.provider).toBeUndefined();
  });

  test('droplet uses the documented defaults and the rendered cloud-config', () => {
    const out = synth();
    expect(out).toHaveResourceWithProperties(Droplet, {
      name: 'droplet.widgetcorp.tech', region: 'nyc3', size: 's-1vcpu-1gb', image: 'ubuntu-24-04-x64', monitoring: true,
    });
    const [droplet] = resourcesOf(out, 'digitalocean_droplet');
    expect(droplet.user_data.startsWith('#cloud-config\n')).toBe(true);
    expect(droplet.ssh_keys).toBeUndefined();
  });

  test('user_data is fed the short-lived certificate public key and the tunnel token, which stays sensitive', () => {
    const [droplet] = resourcesOf(synth(), 'digitalocean_droplet');
    expect(droplet.user_data).toContain(
      'content: ${jsonencode("${cloudflare_zero_trust_access_short_lived_certificate.Test_Access_ShortLivedCertificate_',
    );
    // provider 5.14 does not mark the token sensitive; sensitive() does, wherever it flows.
    expect(droplet.user_data).toMatch(
      /content: \$\{jsonencode\("TUNNEL_TOKEN=\$\{sensitive\(data\.cloudflare_zero_trust_tunnel_cloudflared_token\.Test_Tunnel_Token_[0-9A-F]+\.token\)\}\\n"\)\}/,
    );
  });

  test('firewall has no inbound rule, open egress, and applies by a tag the droplet is created with', () => {
    const out = synth({ tags: ['team-ops'] });
    const [fw] = resourcesOf(out, 'digitalocean_firewall');
    expect(fw.inbound_rule).toBeUndefined();
    expect(out).not.toMatch(/inbound_rule/);
    // by tag, not by droplet id: a firewall by id applies only once the droplet exists.
    expect(fw.droplet_ids).toBeUndefined();
    const [tag] = resourcesOf(out, 'digitalocean_tag');
    expect(tag).toEqual({ name: 'access-droplet-droplet-widgetcorp-tech' });
    expect(fw.tags).toEqual([expect.stringMatching(/^\$\{digitalocean_tag\.Test_Tag_[0-9A-F]+\.name\}$/)]);
    const [droplet] = resourcesOf(out, 'digitalocean_droplet');
    // the firewall's tag, the user's, then the account tags the host's agent reads.
    expect(droplet.tags).toEqual([fw.tags[0], 'team-ops', expect.stringMatching(/^cdad:[0-9a-f]{12}:0:1:[a-z2-7]+$/)]);
    expect(fw.outbound_rule).toEqual([
      { protocol: 'tcp', port_range: 'all', destination_addresses: ['0.0.0.0/0', '::/0'] },
      { protocol: 'udp', port_range: 'all', destination_addresses: ['0.0.0.0/0', '::/0'] },
      { protocol: 'icmp', destination_addresses: ['0.0.0.0/0', '::/0'] },
    ]);
    expect(out).toHaveResourceWithProperties(Firewall, { name: 'droplet-widgetcorp-tech-fw' });
  });

  test('Access application is self-hosted on the hostname and uses the allow policy', () => {
    const out = synth();
    expect(out).toHaveResourceWithProperties(ZeroTrustAccessApplication, {
      account_id: 'acc123', type: 'self_hosted', domain: 'droplet.widgetcorp.tech',
      destinations: [{ type: 'public', uri: 'droplet.widgetcorp.tech' }],
    });
    const [app] = resourcesOf(out, 'cloudflare_zero_trust_access_application');
    expect(app.policies).toEqual([
      { id: expect.stringMatching(/^\$\{cloudflare_zero_trust_access_policy\.Test_Access_AccessPolicy_[0-9A-F]+\.id\}$/), precedence: 1 },
    ]);
    expect(out).toHaveResourceWithProperties(ZeroTrustAccessShortLivedCertificate, {
      account_id: 'acc123',
      app_id: expect.stringMatching(/^\$\{cloudflare_zero_trust_access_application\.Test_Access_AccessApp_[0-9A-F]+\.id\}$/),
    });
  });

  test('policy includes exactly the users by default', () => {
    const out = synth({ users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe' }] });
    expect(out).toHaveResourceWithProperties(ZeroTrustAccessPolicy, {
      decision: 'allow',
      include: [{ email: { email: 'srhea@cloudflare.com' } }, { email: { email: 'jane.doe@example.com' } }],
    });
  });

  test('policy adds allow.emails and allow.emailDomains, once each', () => {
    const out = synth({
      users: ['srhea@cloudflare.com'],
      allow: { emails: ['ops@example.com', 'srhea@cloudflare.com'], emailDomains: ['cloudflare.com', '@cloudflare.com'] },
    });
    const [policy] = resourcesOf(out, 'cloudflare_zero_trust_access_policy');
    expect(policy.include).toEqual([
      { email: { email: 'srhea@cloudflare.com' } },
      { email: { email: 'ops@example.com' } },
      { email_domain: { domain: 'cloudflare.com' } },
    ]);
  });

  test('warns when allow admits people without a Unix account; a domain every user is at is safe', () => {
    const ad = construct({ allow: { emailDomains: ['cloudflare.com'], emails: ['ops@example.com'] } });
    const warnings = ad.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    expect(warnings).toEqual([
      expect.stringMatching(/allow\.emails admits ops@example\.com without a Unix account/),
    ]);
    expect(construct({}).node.metadata.filter((m) => m.type === '@cdktf/warn')).toEqual([]);
  });

  test('tunnel is remotely managed, without a secret', () => {
    const out = synth();
    expect(out).toHaveResourceWithProperties(ZeroTrustTunnelCloudflared, {
      account_id: 'acc123', name: 'droplet-widgetcorp-tech', config_src: 'cloudflare',
    });
    expect(out).not.toMatch(/tunnel_secret/);
    // the token reads the tunnel id through a local, so an in-place change of the tunnel does not
    // defer the read (and replace the droplet): __tests__/real/token-wiring-terraform.test.ts.
    expect(out).toHaveDataSourceWithProperties(DataCloudflareZeroTrustTunnelCloudflaredToken, {
      account_id: 'acc123', tunnel_id: expect.stringMatching(/^\$\{local\.Test_Tunnel_TunnelId_[0-9A-F]+\}$/),
    });
    const { locals } = JSON.parse(out);
    expect(Object.keys(locals).filter((k) => !/^Test_CloudConfig_/.test(k)).map((k) => locals[k]))
      .toEqual([expect.stringMatching(/^\$\{cloudflare_zero_trust_tunnel_cloudflared\.Test_Tunnel_[0-9A-F]+\.id\}$/)]);
  });

  test('one tunnel config: hostname to ssh://localhost:22, protected with Access at the origin, then a 404 catch-all', () => {
    const out = synth();
    expect(resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config')).toHaveLength(1);
    const [config] = resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config');
    expect(config.config.ingress).toEqual([
      {
        hostname: 'droplet.widgetcorp.tech', service: 'ssh://localhost:22',
        // cloudflared refuses a connection without this application's Access token, for the account's team.
        origin_request: { access: { required: true, aud_tag: [expect.stringMatching(/^\$\{cloudflare_zero_trust_access_application\.Test_Access_AccessApp_[0-9A-F]+\.aud\}$/)],
          team_name: expect.stringMatching(/^\$\{element\(split\("\.", data\.cloudflare_zero_trust_organization\.Test_Access_Organization_[0-9A-F]+\.auth_domain\), 0\)\}$/) } },
      },
      { service: 'http_status:404' },
    ]);
    expect(out).toHaveResourceWithProperties(ZeroTrustTunnelCloudflaredConfigA, { account_id: 'acc123' });
  });

  test('DNS record is a proxied CNAME to the tunnel with ttl 1', () => {
    const out = synth();
    expect(out).toHaveResourceWithProperties(DnsRecord, {
      zone_id: 'zone123', name: 'droplet.widgetcorp.tech', type: 'CNAME', proxied: true, ttl: 1,
      content: expect.stringMatching(/^\$\{cloudflare_zero_trust_tunnel_cloudflared\.Test_Tunnel_[0-9A-F]+\.id\}\.cfargotunnel\.com$/),
    });
  });

  test('outputs hostname, droplet id, tunnel id and the ssh config, never the token', () => {
    const parsed = JSON.parse(synth());
    const outputs = Object.values(parsed.output) as { value: string; sensitive?: boolean }[];
    const values = outputs.map((o) => o.value);
    expect(values).toHaveLength(4);
    expect(values).toContain('droplet.widgetcorp.tech');
    expect(values).toContainEqual(expect.stringMatching(/^\$\{digitalocean_droplet\.Test_Droplet_[0-9A-F]+\.id\}$/));
    expect(values).toContainEqual(expect.stringMatching(/^\$\{cloudflare_zero_trust_tunnel_cloudflared\.Test_Tunnel_[0-9A-F]+\.id\}$/));
    expect(values).toContain(
      'Match host droplet.widgetcorp.tech exec "cloudflared access ssh-gen --hostname %h"\n' +
      '  ProxyCommand cloudflared access ssh --hostname %h\n' +
      '  IdentityFile ~/.cloudflared/%h-cf_key\n' +
      '  CertificateFile ~/.cloudflared/%h-cf_key-cert.pub\n',
    );
    expect(JSON.stringify(parsed.output)).not.toMatch(/token/i);
  });

  test('props override region, size, image, name, tags and the apt source', () => {
    const out = synth({
      region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-22-04-x64', name: 'bastion', tags: ['team:ops'],
      cloudflaredAptUrl: 'https://mirror.example.com/cloudflared', cloudflaredAptKeyUrl: 'https://mirror.example.com/key.gpg',
      accessSessionDuration: '8h', clientCloudflaredPath: '/usr/local/bin/cloudflared',
    });
    expect(out).toHaveResourceWithProperties(Droplet, { region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-22-04-x64' });
    // the user's tags follow the tag that applies the firewall, named from `name`.
    expect(resourcesOf(out, 'digitalocean_droplet')[0].tags).toEqual([
      expect.stringMatching(/^\$\{digitalocean_tag\.Test_Tag_[0-9A-F]+\.name\}$/), 'team:ops', expect.stringMatching(/^cdad:/),
    ]);
    expect(resourcesOf(out, 'digitalocean_tag')).toEqual([{ name: 'access-droplet-bastion' }]);
    expect(out).toHaveResourceWithProperties(ZeroTrustTunnelCloudflared, { name: 'bastion' });
    expect(out).toHaveResourceWithProperties(ZeroTrustAccessApplication, { name: 'bastion', session_duration: '8h' });
    expect(out).toHaveResourceWithProperties(Firewall, { name: 'bastion-fw' });
    const [droplet] = resourcesOf(out, 'digitalocean_droplet');
    expect(droplet.user_data).toContain('["/usr/local/lib/cdktf-access-droplet/setup","https://mirror.example.com/key.gpg","https://mirror.example.com/cloudflared","any","main"]');
    expect(out).toContain('/usr/local/bin/cloudflared access ssh-gen');
  });

  test('exposes the resources and attributes as escape hatches', () => {
    const ad = construct({});
    expect(ad.droplet).toBeInstanceOf(Droplet);
    expect(ad.firewall).toBeInstanceOf(Firewall);
    expect(ad.accessApplication).toBeInstanceOf(ZeroTrustAccessApplication);
    expect(ad.accessPolicy).toBeInstanceOf(ZeroTrustAccessPolicy);
    expect(ad.tunnel).toBeInstanceOf(ZeroTrustTunnelCloudflared);
    expect(ad.dnsRecord).toBeInstanceOf(DnsRecord);
    expect(ad.hostname).toBe('droplet.widgetcorp.tech');
    expect(ad.sshConfig).toContain('Match host droplet.widgetcorp.tech');
  });

  test('escapes Terraform template syntax in literal text but keeps cdktf tokens', () => {
    expect(escapeTerraformTemplate('a ${b} %{ if } ${TfToken[TOKEN.1]}')).toBe('a $${b} %%{ if } ${TfToken[TOKEN.1]}');
    // an email may legally contain "${" and "%{"; Terraform must not read them as templates.
    const out = synth({ users: [{ email: 'x${y}%{z}@example.com', unixName: 'xyz' }] });
    const [droplet] = resourcesOf(out, 'digitalocean_droplet');
    expect(resourcesOf(out, 'cloudflare_zero_trust_access_policy')[0].include).toEqual([{ email: { email: 'x$${y}%%{z}@example.com' } }]);
    // in the account tags the email is encoded (base32), so nothing there reads as a template.
    expect(accountsOf(droplet).xyz.email).toBe('x${y}%{z}@example.com');
    expect(droplet.user_data).not.toMatch(/(^|[^$])\$\{(?!jsonencode\(|cloudflare_|data\.|sensitive\(data\.)/);
  });
});

describe('AccessDroplet bad input', () => {
  test.each([
    ['fails when there are no users', { users: [] }, /^users is empty; pass at least one user/],
    ['fails on a malformed email', { users: ['srhea-at-cloudflare.com'] }, /users\[0\]\.email "srhea-at-cloudflare\.com" is not an email address/],
    ['fails on an email with a space', { users: ['s rhea@cloudflare.com'] }, /users\[0\]\.email "s rhea@cloudflare\.com" is not an email address/],
    ['fails on a local part that is no Unix name', { users: ['Jane.Doe@example.com'] }, /users\[0\] unix name "Jane\.Doe" is not a valid Unix user name .*pass \{ email: "Jane\.Doe@example\.com", unixName/],
    ['fails on an invalid unixName', { users: [{ email: 'jane@example.com', unixName: "o'brien" }] }, /users\[0\] unix name "o'brien" is not a valid Unix user name/],
    ['fails on a too long unixName', { users: [{ email: 'jane@example.com', unixName: 'a'.repeat(33) }] }, /unix name "a{33}" is not a valid Unix user name/],
    ['fails on root', { users: ['root@example.com'] }, /users\[0\] unix name "root" is reserved for the system/],
    ['fails on a system account', { users: [{ email: 'x@example.com', unixName: 'www-data' }] }, /unix name "www-data" is reserved/],
    ['fails on a systemd account', { users: [{ email: 'x@example.com', unixName: 'systemd-network' }] }, /unix name "systemd-network" is reserved/],
    ['fails on two users with one Unix name', { users: ['jdoe@a.com', { email: 'jane@b.com', unixName: 'jdoe' }] }, /users\[1\] unix name "jdoe" \(jane@b\.com\) is already used by jdoe@a\.com/],
    ['fails on a hostname that is not a DNS name', { hostname: 'droplet_widgetcorp.tech' }, /hostname "droplet_widgetcorp\.tech" is not a DNS name/],
    ['fails on a single-label hostname', { hostname: 'droplet' }, /hostname "droplet" is not a DNS name/],
    ['fails on an upper-case hostname', { hostname: 'Droplet.Widgetcorp.tech' }, /hostname "Droplet\.Widgetcorp\.tech" is not a DNS name/],
    ['fails on a URL as hostname', { hostname: 'https://droplet.widgetcorp.tech' }, /hostname "https:\/\/droplet\.widgetcorp\.tech" is not a DNS name/],
    ['fails on an empty account id', { accountId: '' }, /accountId "" must be a non-empty Cloudflare id/],
    ['fails on an empty zone id', { zoneId: ' ' }, /zoneId " " must be a non-empty Cloudflare id/],
    ['fails on an allow that adds nothing', { allow: {} }, /allow adds no rule/],
    ['fails on an allow with empty lists', { allow: { emails: [], emailDomains: [] } }, /allow adds no rule/],
    ['fails on an allow for every domain', { allow: { emailDomains: ['*'] } }, /allow\.emailDomains\[0\] "\*" is not an email domain.*admit everyone/],
    ['fails on an allow for a bare TLD', { allow: { emailDomains: ['com'] } }, /allow\.emailDomains\[0\] "com" is not an email domain/],
    ['fails on an allow for a public email provider', { allow: { emailDomains: ['gmail.com'] } }, /allow\.emailDomains\[0\] "gmail\.com" is a public email provider/],
    ['fails on a malformed allow email', { allow: { emails: ['nobody'] } }, /allow\.emails\[0\] "nobody" is not an email address/],
    ['fails on a bad region', { region: 'NYC 3' }, /region "NYC 3" is not a DigitalOcean slug/],
    ['fails on a bad tag', { tags: ['a b'] }, /tags\[0\] "a b" is not a DigitalOcean tag/],
    ['fails on a bad name', { name: 'my tunnel' }, /name "my tunnel" must be 1-63 letters/],
    ['fails on an apt URL with shell syntax', { cloudflaredAptUrl: 'https://x.example.com/$(reboot)' }, /cloudflaredAptUrl "https:\/\/x\.example\.com\/\$\(reboot\)" is not an http\(s\):\/\/ or file:\/\/ URL/],
    ['fails on an apt suite with a space', { cloudflaredAptSuite: 'any main' }, /cloudflaredAptSuite "any main" is not an apt suite name/],
  ])('%s', (_name, props, message) => {
    expect(() => construct(props as Partial<AccessDropletProps>)).toThrow(message);
  });
});

describe('AccessDroplet waitForReady', () => {
  test('is off by default', () => {
    expect(synth()).not.toMatch(/null_resource|local-exec/);
  });

  test('adds a null_resource that runs the poller after the droplet, config and DNS exist', () => {
    const parsed = JSON.parse(synth({ waitForReady: true, waitForReadyTimeoutSec: 900 }));
    const [wait] = Object.values(parsed.resource.null_resource) as any[];
    expect(wait.provisioner).toEqual([{
      'local-exec': {
        command: expect.stringMatching(/^node "assets\/Test_WaitForTunnelScript_[0-9A-F]+\/[0-9A-F]+\/wait-for-tunnel\.js"$/),
        environment: {
          CF_ACCOUNT_ID: 'acc123',
          CF_TUNNEL_ID: expect.stringMatching(/^\$\{cloudflare_zero_trust_tunnel_cloudflared\.Test_Tunnel_[0-9A-F]+\.id\}$/),
          WAIT_HOSTNAME: 'droplet.widgetcorp.tech',
          WAIT_TIMEOUT_SEC: '900',
          // only a connector started since this droplet was created counts (create_before_destroy).
          WAIT_SINCE: expect.stringMatching(/^\$\{digitalocean_droplet\.Test_Droplet_[0-9A-F]+\.created_at\}$/),
        },
      },
    }]);
    // the API token comes from the deploying shell, never from the synthesized JSON.
    expect(JSON.stringify(wait)).not.toMatch(/API_TOKEN/);
    expect(wait.triggers).toEqual({
      tunnel_id: expect.stringContaining('cloudflare_zero_trust_tunnel_cloudflared.'),
      droplet_id: expect.stringContaining('digitalocean_droplet.'),
    });
    expect(wait.depends_on).toEqual([
      expect.stringMatching(/^digitalocean_droplet\./),
      expect.stringMatching(/^cloudflare_zero_trust_tunnel_cloudflared_config\./),
      expect.stringMatching(/^digitalocean_firewall\./),
      expect.stringMatching(/^cloudflare_dns_record\./),
    ]);
  });

  test.each([
    ['fails on a timeout without waitForReady', { waitForReadyTimeoutSec: 60 }, /waitForReadyTimeoutSec is 60 but waitForReady is not set/],
    ['fails on a fractional timeout', { waitForReady: true, waitForReadyTimeoutSec: 1.5 }, /waitForReadyTimeoutSec 1\.5 must be whole seconds from 10 to 7200/],
    ['fails on a huge timeout', { waitForReady: true, waitForReadyTimeoutSec: 86400 }, /waitForReadyTimeoutSec 86400 must be whole seconds/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletProps>)).toThrow(message);
  });
});

describe('AccessDroplet metadata guard', () => {
  test('is in the droplet cloud-config by default and can be turned off', () => {
    const on = resourcesOf(synth(), 'digitalocean_droplet')[0].user_data as string;
    const off = resourcesOf(synth({ restrictMetadataService: false }), 'digitalocean_droplet')[0].user_data as string;
    expect(on).toContain('path: /etc/systemd/system/cdktf-metadata-guard.service');
    expect(on).toContain('ip daddr 169.254.169.254 meta skuid >= 1000 reject');
    expect(off).not.toContain('cdktf-metadata-guard.service\n    owner');
    expect(off).not.toContain('metadata-guard\n    owner');
  });
});

describe('names unique across the stack', () => {
  const fleetProps = {
    accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'],
    hosts: [{ hostname: 'web-1.widgetcorp.tech' }, { hostname: 'droplet.widgetcorp.tech' }],
  };

  test('fails on two AccessDroplets with one hostname, naming both construct paths', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    new AccessDroplet(stack, 'First', minimalProps);
    expect(() => new AccessDroplet(stack, 'Second', { ...minimalProps, name: 'other' })).toThrow(
      /^hostname "droplet\.widgetcorp\.tech" is used by both stack\/First and stack\/Second; a hostname can belong to one AccessDroplet or fleet host only$/,
    );
  });

  test('fails on a droplet whose hostname is also a fleet host, in either order', () => {
    const s1 = new TerraformStack(Testing.app(), 'stack');
    new AccessDroplet(s1, 'Bastion', minimalProps);
    expect(() => new AccessDropletFleet(s1, 'Fleet', fleetProps)).toThrow(
      /^hostname "droplet\.widgetcorp\.tech" is used by both stack\/Bastion and stack\/Fleet \(host droplet\.widgetcorp\.tech\)/,
    );
    const s2 = new TerraformStack(Testing.app(), 'stack');
    new AccessDropletFleet(s2, 'Fleet', fleetProps);
    expect(() => new AccessDroplet(s2, 'Bastion', minimalProps)).toThrow(
      /^hostname "droplet\.widgetcorp\.tech" is used by both stack\/Fleet \(host droplet\.widgetcorp\.tech\) and stack\/Bastion/,
    );
  });

  test('fails on two fleets with one name (same tag and firewall)', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    new AccessDropletFleet(stack, 'Blue', { ...fleetProps, hosts: [{ hostname: 'blue.widgetcorp.tech' }] });
    expect(() => new AccessDropletFleet(stack, 'Green', { ...fleetProps, hosts: [{ hostname: 'green.widgetcorp.tech' }] })).toThrow(
      /^fleet name "web" is used by both stack\/Blue and stack\/Green; give each fleet its own name \(it names the fleet tag and firewall\)$/,
    );
  });

  test('fails on two AccessDroplets with one name (same tunnel and firewall name)', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    new AccessDroplet(stack, 'A', { ...minimalProps, name: 'bastion' });
    expect(() => new AccessDroplet(stack, 'B', { ...minimalProps, hostname: 'other.widgetcorp.tech', name: 'bastion' })).toThrow(
      /^tunnel name "bastion" is used by both stack\/A and stack\/B; give each AccessDroplet its own name/,
    );
  });

  test('fails on an AccessDroplet and a fleet sharing a firewall name', () => {
    const stack = new TerraformStack(Testing.app(), 'stack');
    new AccessDroplet(stack, 'A', { ...minimalProps, name: 'web' });
    expect(() => new AccessDropletFleet(stack, 'Fleet', { ...fleetProps, hosts: [{ hostname: 'web-1.widgetcorp.tech' }] })).toThrow(
      /^firewall name "web-fw" is used by both stack\/A and stack\/Fleet/,
    );
  });

  test('the same names in different stacks are fine', () => {
    const app = Testing.app();
    new AccessDroplet(new TerraformStack(app, 'one'), 'Bastion', minimalProps);
    expect(() => new AccessDroplet(new TerraformStack(app, 'two'), 'Bastion', minimalProps)).not.toThrow();
  });
});

describe('AccessDroplet zoneName', () => {
  test('accepts a hostname inside the zone', () => {
    expect(() => construct({ zoneName: 'widgetcorp.tech' })).not.toThrow();
    expect(() => construct({ zoneName: 'widgetcorp.tech', hostname: 'a.b.widgetcorp.tech' })).not.toThrow();
  });

  test.each([
    ['fails on a hostname outside the zone', { zoneName: 'example.com' }, /^hostname "droplet\.widgetcorp\.tech" is not in zone "example\.com"; pass a name that ends with "\.example\.com"$/],
    ['fails on a lookalike zone', { zoneName: 'corp.tech', hostname: 'droplet.widgetcorp.tech' }, /is not in zone "corp\.tech"/],
    ['fails on the zone apex', { zoneName: 'widgetcorp.tech', hostname: 'widgetcorp.tech' }, /^hostname "widgetcorp\.tech" is the apex of zone "widgetcorp\.tech"; pass a name inside it, e\.g\. "ssh\.widgetcorp\.tech"$/],
    ['fails on a zoneName that is not a DNS name', { zoneName: 'Widget Corp' }, /zoneName "Widget Corp" is not a DNS name/],
    ['fails on an unknown prop instead of ignoring it', { count: 3 }, /^count is not a prop of AccessDroplet and would be ignored; remove it/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletProps>)).toThrow(message);
  });
});

describe('waitForReady and the null provider', () => {
  function stackWith(providers: ('null' | 'cloudflare' | 'digitalocean')[], fleet = false) {
    const stack = new TerraformStack(Testing.app(), 'stack');
    if (providers.includes('cloudflare')) new CloudflareProvider(stack, 'cloudflare', {});
    if (providers.includes('digitalocean')) new DigitaloceanProvider(stack, 'digitalocean', {});
    if (providers.includes('null')) new NullProvider(stack, 'null', {});
    if (fleet) {
      new AccessDropletFleet(stack, 'Fleet', {
        accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'], count: 2,
        hostnamePattern: 'web-{index}.widgetcorp.tech', waitForReady: true,
      });
    } else {
      new AccessDroplet(stack, 'Test', { ...minimalProps, waitForReady: true });
    }
    return stack;
  }

  test('fails synth without a null provider, saying waitForReady needs new NullProvider(...)', () => {
    expect(() => Testing.synth(stackWith(['cloudflare', 'digitalocean']), true)).toThrow(
      /\[stack\/Test\] waitForReady needs the null provider, and stack 'stack' has none: add new NullProvider\(stack, "null"\) \(import \{ NullProvider \} from "@cdktf\/provider-null\/lib\/provider"\), or drop waitForReady/,
    );
    expect(() => Testing.synth(stackWith(['cloudflare', 'digitalocean'], true), true)).toThrow(/\[stack\/Fleet\] waitForReady needs the null provider/);
  });

  test('synthesizes with the null provider, and without waitForReady needs none', () => {
    expect(() => Testing.synth(stackWith(['cloudflare', 'digitalocean', 'null']), true)).not.toThrow();
    expect(() => Testing.synth(stackWith(['cloudflare', 'digitalocean', 'null'], true), true)).not.toThrow();
    const stack = new TerraformStack(Testing.app(), 'stack');
    new CloudflareProvider(stack, 'cloudflare', {});
    new DigitaloceanProvider(stack, 'digitalocean', {});
    new AccessDroplet(stack, 'Test', minimalProps);
    expect(() => Testing.synth(stack, true)).not.toThrow();
  });
});

describe('AccessDroplet in infrastructure mode never ignores a prop', () => {
  const infra: Partial<AccessDropletProps> = {
    mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, hostname: 'bastion.widgetcorp.tech', infrastructureCaPublicKey: CA_KEY,
  };
  test.each([
    ['fails on zoneId, which would be ignored', { zoneId: 'zone123' }, /^zoneId has no effect in infrastructure mode: it creates no DNS record; drop it/],
    ['fails on clientCloudflaredPath, which would be ignored', { clientCloudflaredPath: '/opt/cloudflared' }, /^clientCloudflaredPath has no effect in infrastructure mode/],
  ])('%s', (_n, props, message) => {
    expect(() => construct({ ...infra, ...props } as Partial<AccessDropletProps>)).toThrow(message);
  });

  test('zoneName still checks the hostname', () => {
    expect(() => construct({ ...infra, zoneName: 'widgetcorp.tech' })).not.toThrow();
    expect(() => construct({ ...infra, zoneName: 'example.com' })).toThrow(/hostname "bastion\.widgetcorp\.tech" is not in zone "example\.com"/);
  });
});
