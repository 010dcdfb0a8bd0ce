import { readFileSync } from 'fs';
import { join } from 'path';
import { gunzipSync } from 'zlib';
import { Testing, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { parse } from 'yaml';
import { AccessDroplet, AccessDropletFleet, CloudInit, CloudInitOptions, renderAccountTags, renderCloudInit } from '../lib';
import { decodeAccountTags } from '../lib/account-tags';

const SSHD_DROP_IN_NAME = CloudInit.SSHD_DROP_IN_NAME;
import { CA_KEY, inlineUserData, minimalProps, resourcesOf, TUNNEL_TOKEN } from './fixtures';

const base: CloudInitOptions = { caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN };

function render(extra: Partial<CloudInitOptions> = {}) {
  const text = renderCloudInit({ ...base, ...extra });
  return { text, doc: parse(text) as any };
}

function file(doc: any, path: string) {
  const f = doc.write_files.find((w: any) => w.path === path);
  if (!f) throw new Error(`no write_files entry for ${path}`);
  return f;
}

describe('renderCloudInit', () => {
  test('is a #cloud-config document (snapshot)', () => {
    const { text } = render();
    expect(text.split('\n')[0]).toBe('#cloud-config');
    expect(text).toMatchSnapshot();
  });

  test('is pure: the same options give the same text', () => {
    expect(render().text).toBe(render().text);
  });

  test('writes the CA key and an sshd drop-in that sorts before 50-cloud-init.conf', () => {
    const { doc } = render();
    expect(file(doc, '/etc/ssh/ca.pub').content).toBe(`${CA_KEY}\n`);
    const dropIn = file(doc, `/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`);
    expect(SSHD_DROP_IN_NAME < '50-cloud-init.conf').toBe(true);
    const settings = (dropIn.content as string).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(settings).toEqual([
      'PubkeyAuthentication yes',
      'TrustedUserCAKeys /etc/ssh/ca.pub',
      'AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u',
      'AuthorizedKeysFile none',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin no',
      'DisableForwarding yes',
      'AllowTcpForwarding no',
      'AllowAgentForwarding no',
      'AllowStreamLocalForwarding no',
      'X11Forwarding no',
      'PermitTunnel no',
      'GatewayPorts no',
      'PermitUserRC no',
    ]);
    expect(doc.ssh_pwauth).toBe(false);
  });

  test('allowPortForwarding turns on local TCP forwarding only, and warns what it opens', () => {
    const { doc } = render({ allowPortForwarding: true });
    const settings = (file(doc, `/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`).content as string).split('\n').filter((l) => l && !l.startsWith('#'));
    expect(settings.slice(7)).toEqual([
      'DisableForwarding no',
      'AllowTcpForwarding local',
      'AllowAgentForwarding no',
      'AllowStreamLocalForwarding no',
      'X11Forwarding no',
      'PermitTunnel no',
      'GatewayPorts no',
      'PermitUserRC no',
    ]);
    expect(CloudInit.warnings({ ...base, allowPortForwarding: true })).toEqual([
      expect.stringMatching(/^allowPortForwarding is set: every Access user can forward TCP connections .*loopback.*VPC/),
    ]);
    expect(CloudInit.warnings(base)).toEqual([]);
  });

  test('fails when allowPortForwarding is not a boolean', () => {
    expect(() => render({ allowPortForwarding: 'yes' as any })).toThrow(/allowPortForwarding "yes" must be true or false/);
  });

  test('holds no account: none of the image defaults, and the accounts agent that applies the droplet\'s tags', () => {
    const { doc } = render();
    // an empty list, not a missing key: without it cloud-init creates the image's default sudoer.
    expect(doc.users).toEqual([]);
    expect(doc.write_files.filter((f: any) => f.path.startsWith('/etc/ssh/auth_principals'))).toEqual([]);
    const agent = file(doc, '/usr/local/lib/cdktf-access-droplet/accounts');
    expect(agent).toMatchObject({ owner: 'root:root', permissions: '0755', encoding: 'gz+b64' });
    // the packed copy is the script (scripts/pack-cloud-init.ts makes it; run it after editing).
    expect(gunzipSync(Buffer.from(agent.content, 'base64')).toString('utf8')).toBe(readFileSync(join(__dirname, '..', 'cloud-init', 'accounts'), 'utf8'));
    expect(file(doc, '/etc/systemd/system/cdktf-access-accounts.service').content).toContain('ExecStart=/usr/local/lib/cdktf-access-droplet/accounts --once');
    expect(file(doc, '/etc/systemd/system/cdktf-access-accounts.timer').content).toContain('OnUnitActiveSec=30s');
    // the setup script applies the tags before sshd and the tunnel bring anyone in, then starts the timer.
    const setup = file(doc, '/usr/local/lib/cdktf-access-droplet/setup').content as string;
    expect(setup.indexOf('accounts --once')).toBeLessThan(setup.indexOf('systemctl restart ssh'));
    expect(setup).toContain('systemctl enable --now cdktf-access-accounts.timer');
  });

  test('keeps cloudflared current by default (the updater, its service and its daily timer); cloudflaredAutoUpdate: false leaves it out', () => {
    const { doc } = render();
    const updater = file(doc, '/usr/local/lib/cdktf-access-droplet/update-cloudflared');
    expect(updater).toMatchObject({ owner: 'root:root', permissions: '0755', encoding: 'gz+b64' });
    expect(gunzipSync(Buffer.from(updater.content, 'base64')).toString('utf8')).toBe(readFileSync(join(__dirname, '..', 'cloud-init', 'update-cloudflared'), 'utf8'));
    expect(file(doc, '/etc/systemd/system/cdktf-cloudflared-update.timer').content).toContain('OnCalendar=daily');
    const setup = file(doc, '/usr/local/lib/cdktf-access-droplet/setup').content as string;
    // the first-boot install and the updater take the same lock; the timer starts after the tunnel.
    expect(setup).toContain('flock 9');
    expect(setup.indexOf('systemctl enable --now cdktf-cloudflared-update.timer')).toBeGreaterThan(setup.indexOf('cloudflared-access.service'));
    const off = render({ cloudflaredAutoUpdate: false }).doc;
    expect(off.write_files.filter((f: any) => /cloudflared-update/.test(f.path))).toEqual([]);
    expect(() => render({ cloudflaredAutoUpdate: 'no' as any })).toThrow(/cloudflaredAutoUpdate "no" must be true or false/);
  });

  test('renderAccountTags: one locked account per user in the droplet tags, sudo only when asked', () => {
    const tags = renderAccountTags({ users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }] });
    expect(tags.every((t) => /^cdad:[a-z0-9:]+$/.test(t) && t.length <= 255)).toBe(true);
    expect(decodeAccountTags(tags)).toEqual({ accounts: [
      // access certificates name the email's local part; the principals file maps it to the account.
      { name: 'jdoe', email: 'jane.doe@example.com', principals: ['jane.doe'], sudo: true, groups: [] },
      { name: 'srhea', email: 'srhea@cloudflare.com', principals: ['srhea'], sudo: false, groups: [] },
    ] });
    expect(CloudInit.accountTags({ users: ['srhea@cloudflare.com'] })).toEqual(renderAccountTags({ users: ['srhea@cloudflare.com'] }));
    expect(() => renderAccountTags({ users: [] })).toThrow(/users is empty/);
  });

  test('keeps the token in a 0600 environment file, off every command line', () => {
    const { doc } = render();
    const env = file(doc, '/etc/cloudflared-access/tunnel.env');
    expect(env.permissions).toBe('0600');
    expect(env.owner).toBe('root:root');
    expect(env.content).toBe(`TUNNEL_TOKEN=${TUNNEL_TOKEN}\n`);
    const unit = file(doc, '/etc/systemd/system/cloudflared-access.service').content as string;
    expect(unit).toContain('EnvironmentFile=/etc/cloudflared-access/tunnel.env');
    expect(unit).toContain('ExecStart=/usr/bin/cloudflared --no-autoupdate tunnel run\n');
    const others = doc.write_files.filter((w: any) => w.path !== '/etc/cloudflared-access/tunnel.env');
    expect(JSON.stringify(others)).not.toContain(TUNNEL_TOKEN);
    expect(JSON.stringify(doc.runcmd)).not.toContain(TUNNEL_TOKEN);
    expect(JSON.stringify(doc.runcmd)).not.toMatch(/service install/);
  });

  test('installs cloudflared from the signed apt repository given in the options', () => {
    expect(render().doc.runcmd).toEqual([[
      '/usr/local/lib/cdktf-access-droplet/setup',
      'https://pkg.cloudflare.com/cloudflare-main.gpg', 'https://pkg.cloudflare.com/cloudflared', 'any', 'main',
    ]]);
    const { doc } = render({
      cloudflaredAptUrl: 'file:///srv/apt', cloudflaredAptKeyUrl: 'file:///srv/apt/key.asc',
      cloudflaredAptSuite: 'stable', cloudflaredAptComponent: 'contrib',
    });
    expect(doc.runcmd).toEqual([['/usr/local/lib/cdktf-access-droplet/setup', 'file:///srv/apt/key.asc', 'file:///srv/apt', 'stable', 'contrib']]);
    const setup = file(doc, '/usr/local/lib/cdktf-access-droplet/setup');
    expect(setup.permissions).toBe('0755');
    expect(setup.content).toMatch(/^#!\/bin\/sh\n/);
    expect(setup.content).toContain('set -eu');
    expect(setup.content).toContain('deb [signed-by=$keyring] $repository_url $suite $component');
    expect(setup.content).toContain('apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends cloudflared');
    expect(setup.content).toContain('systemctl restart ssh');
  });

  test('embeds cdktf tokens through jsonencode so any value stays valid YAML', () => {
    const text = renderCloudInit({ ...base, caPublicKey: Token.asString({ ref: 'ca' }), tunnelToken: Token.asString({ ref: 'tok' }) });
    expect(text).toMatch(/content: \$\{TfToken\[TOKEN\.\d+\]\}\n/);
  });

  test.each([
    ['fails on a CA key with a newline', { caPublicKey: `${CA_KEY}\nPermitRootLogin yes` }, /caPublicKey ".*" is not a one-line OpenSSH public key/],
    ['fails on a CA key that is not an SSH key', { caPublicKey: '-----BEGIN PUBLIC KEY-----' }, /caPublicKey "-----BEGIN PUBLIC KEY-----" is not a one-line OpenSSH public key/],
    ['fails on an empty CA key', { caPublicKey: '' }, /caPublicKey "" is not/],
    ['fails on a token with a quote', { tunnelToken: 'abc"def\nghijklmnopqrstuvw' }, /tunnelToken "abc\\"def\\nghij.*" is not a tunnel token/],
    ['fails on an empty token', { tunnelToken: '' }, /tunnelToken "" is not a tunnel token/],
    ['fails on a key URL with a space', { cloudflaredAptKeyUrl: 'https://a.example.com/k k' }, /cloudflaredAptKeyUrl "https:\/\/a\.example\.com\/k k" is not an http\(s\):\/\/ or file:\/\/ URL/],
    ['fails on a ftp URL', { cloudflaredAptUrl: 'ftp://a.example.com/' }, /cloudflaredAptUrl "ftp:\/\/a\.example\.com\/" is not/],
  ])('%s', (_n, extra, message) => {
    expect(() => renderCloudInit({ ...base, ...(extra as Partial<CloudInitOptions>) })).toThrow(message);
  });

  test('the size of user_data no longer grows with the users; the tags hold about a hundred of them', () => {
    expect(render().text.length).toBeLessThan(48 * 1024);
    expect(render({ cloudflaredAutoUpdate: false }).text.length).toBeLessThan(34 * 1024);
    const many = Array.from({ length: 90 }, (_, i) => `user${i}@example.com`);
    expect(renderAccountTags({ users: many }).length).toBeLessThanOrEqual(99);
    const tooMany = Array.from({ length: 1200 }, (_, i) => `u${i}x${'y'.repeat(20)}@example${i}.com`);
    expect(() => renderAccountTags({ users: tooMany })).toThrow(/more than|at most|too many/);
  });
});

describe('allowPortForwarding through the constructs', () => {
  const dropInOf = (json: string) =>
    (parse(resourcesOf(json, 'digitalocean_droplet')[0].user_data) as any)
      .write_files.find((f: any) => f.path === `/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`).content as string;
  const warnings = (scope: Construct) =>
    scope.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data)));

  test('AccessDroplet: off by default; on, the drop-in allows local forwarding and the construct warns', () => {
    const off = new AccessDroplet(new TerraformStack(Testing.app(), 'off'), 'Test', minimalProps);
    expect(dropInOf(Testing.synth(off.node.scope as TerraformStack))).toContain('\nDisableForwarding yes\n');
    expect(warnings(off)).toEqual([]);
    const on = new AccessDroplet(new TerraformStack(Testing.app(), 'on'), 'Test', { ...minimalProps, allowPortForwarding: true });
    expect(dropInOf(Testing.synth(on.node.scope as TerraformStack))).toContain('\nAllowTcpForwarding local\n');
    expect(warnings(on)).toEqual([expect.stringMatching(/^allowPortForwarding is set/)]);
  });

  test('AccessDropletFleet: every host gets the opt-in, and the fleet warns once', () => {
    const fleet = new AccessDropletFleet(new TerraformStack(Testing.app(), 'fleet'), 'Fleet', {
      accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'],
      count: 2, hostnamePattern: 'web-{index}.widgetcorp.tech', allowPortForwarding: true,
    });
    const droplets = inlineUserData(JSON.parse(Testing.synth(fleet.node.scope as TerraformStack))).resource.digitalocean_droplet;
    for (const d of Object.values(droplets) as any[]) expect(d.user_data).toContain('AllowTcpForwarding local');
    expect(warnings(fleet).filter((w) => /^allowPortForwarding/.test(w))).toHaveLength(1);
  });
});
