// Terraform itself resolves the synthesized user_data and tags expressions (no provider needed:
// the resource references are swapped for input variables), so this proves the cloud-config the
// droplet receives is byte for byte what renderCloudInit gives for the same literal values, and
// its tags are the firewall's and exactly the account tags renderAccountTags gives for its users
// (hostile text in an email included). user_data reads the cloud-config's text from the
// construct's CloudConfig local, which terraform evaluates here as synthesized: the bytes are the
// same as written inline, and as fixtures.inlineUserData's textual join gives.
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { AccessDroplet, renderCloudInit } from '../../lib';
import { decodeAccountTags } from '../../lib/account-tags';
import { renderAccountTags } from '../../lib/cloud-init';
import { CA_KEY, minimalProps, resourcesOf, TUNNEL_TOKEN } from '../fixtures';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, terraform } from './helpers';

const users = ['srhea@cloudflare.com', { email: 'x${y}%{z}@example.com', unixName: 'xyz', sudo: true }];

describeReal('user_data and tags resolved by terraform', [NEEDS.terraform], () => {
  let dir: string;
  let expression: string;
  let tagsExpression: string[];
  let inlined: string;

  beforeAll(() => {
    dir = makeTempDir('tf-render');
    const synth = Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, users }));
    const json = JSON.parse(synth);
    const [droplet] = Object.values<any>(json.resource.digitalocean_droplet);
    const before = droplet.user_data as string;
    // the text comes from the CloudConfig local, kept as synthesized below.
    expect(before.match(/\$\{local\.Test_CloudConfig_[0-9A-F]{8}\[\d\]\}/g)).toHaveLength(3);
    inlined = resourcesOf(synth, 'digitalocean_droplet')[0].user_data;
    expression = before
      .replace(/cloudflare_zero_trust_access_short_lived_certificate\.Test_Access_ShortLivedCertificate_[0-9A-F]+\.public_key/g, 'var.ca_public_key')
      .replace(/data\.cloudflare_zero_trust_tunnel_cloudflared_token\.Test_Tunnel_Token_[0-9A-F]+\.token/g, 'var.tunnel_token');
    // both references must have been there and swapped.
    expect(expression).not.toBe(before);
    expect(expression.match(/var\.(ca_public_key|tunnel_token)/g)).toEqual(['var.ca_public_key', 'var.tunnel_token']);
    // the firewall's tag is a reference; the account tags are literals.
    tagsExpression = (droplet.tags as string[]).map((t) => t.replace(/^\$\{digitalocean_tag\.Test_Tag_[0-9A-F]+\.name\}$/, '${var.tag_name}'));
    expect(tagsExpression.filter((t) => t.includes('var.tag_name'))).toHaveLength(1);
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({
      variable: { ca_public_key: { type: 'string' }, tunnel_token: { type: 'string' }, tag_name: { type: 'string', default: 'access-droplet-test' } },
      locals: Object.fromEntries(Object.entries(json.locals).filter(([name]) => name.startsWith('Test_CloudConfig_'))),
      // the token flows as sensitive(): an output that shows it must say so.
      output: { user_data: { value: expression, sensitive: true }, tags: { value: tagsExpression } },
    }));
    terraform(dir, ['init', '-input=false', '-no-color']);
  });

  afterAll(() => removeTempDirs());

  function resolve(ca: string, token: string): string {
    terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-var', `ca_public_key=${ca}`, '-var', `tunnel_token=${token}`]);
    return terraform(dir, ['output', '-raw', 'user_data']);
  }

  test('user_data equals renderCloudInit with the same literal values, and holds no user', () => {
    const userData = resolve(CA_KEY, TUNNEL_TOKEN);
    expect(userData).toBe(renderCloudInit({ caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN }));
    // the tests' textual join of the local's text is what terraform evaluates.
    const ca = /cloudflare_zero_trust_access_short_lived_certificate\.[\w-]+\.public_key/;
    const token = /data\.cloudflare_zero_trust_tunnel_cloudflared_token\.[\w-]+\.token/;
    expect(inlined.replace(/\$\{jsonencode\("\$\{([^}]+)\}\\n"\)\}/, (_, r) => (ca.test(r) ? JSON.stringify(`${CA_KEY}\n`) : '?'))
      .replace(/\$\{jsonencode\("TUNNEL_TOKEN=\$\{sensitive\(([^)]+)\)\}\\n"\)\}/, (_, r) => (token.test(r) ? JSON.stringify(`TUNNEL_TOKEN=${TUNNEL_TOKEN}\n`) : '?'))
      .replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{')).toBe(userData);
    expect(userData).not.toMatch(/srhea|xyz|example\.com/);
  });

  test('tags are the firewall\'s and exactly renderAccountTags of the users, the hostile email as given', () => {
    resolve(CA_KEY, TUNNEL_TOKEN);
    const tags = JSON.parse(terraform(dir, ['output', '-json', 'tags'])) as string[];
    expect(tags).toEqual(['access-droplet-test', ...renderAccountTags({ users })]);
    const decoded = decodeAccountTags(tags);
    expect('accounts' in decoded && decoded.accounts.map((a) => [a.name, a.email, a.principals, a.sudo])).toEqual([
      ['srhea', 'srhea@cloudflare.com', ['srhea'], false],
      ['xyz', 'x${y}%{z}@example.com', ['x${y}%{z}'], true],
    ]);
  });

  test('a hostile value cannot break out of its YAML string', () => {
    const hostile = 'abc"\nruncmd: [reboot]\n  - ${x} \u2028 <&>';
    const doc = parse(resolve(hostile, hostile));
    expect(doc.runcmd).toHaveLength(1);
    const env = doc.write_files.find((f: any) => f.path === '/etc/cloudflared-access/tunnel.env');
    expect(env.content).toBe(`TUNNEL_TOKEN=${hostile}\n`);
    expect(doc.write_files.find((f: any) => f.path === '/etc/ssh/ca.pub').content).toBe(`${hostile}\n`);
  });
});
