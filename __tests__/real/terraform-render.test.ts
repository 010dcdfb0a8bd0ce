// Terraform itself resolves the synthesized user_data expression (no provider needed: the
// resource references are swapped for input variables), so this proves the cloud-config the
// droplet receives is byte for byte what renderCloudInit gives for the same literal values.
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import { parse } from 'yaml';
import { AccessDroplet, renderCloudInit } from '../../lib';
import { CA_KEY, minimalProps, resourcesOf, TUNNEL_TOKEN } from '../fixtures';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, terraform } from './helpers';

const users = ['srhea@cloudflare.com', { email: 'x${y}%{z}@example.com', unixName: 'xyz', sudo: true }];

describeReal('user_data resolved by terraform', [NEEDS.terraform], () => {
  let dir: string;
  let expression: string;

  beforeAll(() => {
    dir = makeTempDir('tf-render');
    const synth = Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, users }));
    const [droplet] = resourcesOf(synth, 'digitalocean_droplet');
    const before = droplet.user_data as string;
    expression = before
      .replace(/cloudflare_zero_trust_access_short_lived_certificate\.Test_Access_ShortLivedCertificate_[0-9A-F]+\.public_key/g, 'var.ca_public_key')
      .replace(/data\.cloudflare_zero_trust_tunnel_cloudflared_token\.Test_Tunnel_Token_[0-9A-F]+\.token/g, 'var.tunnel_token');
    // both references must have been there and swapped.
    expect(expression).not.toBe(before);
    expect(expression.match(/var\.(ca_public_key|tunnel_token)/g)).toEqual(['var.ca_public_key', 'var.tunnel_token']);
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({
      variable: { ca_public_key: { type: 'string' }, tunnel_token: { type: 'string' } },
      output: { user_data: { value: expression } },
    }));
    terraform(dir, ['init', '-input=false', '-no-color']);
  });

  afterAll(() => removeTempDirs());

  function resolve(ca: string, token: string): string {
    terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color', '-var', `ca_public_key=${ca}`, '-var', `tunnel_token=${token}`]);
    return terraform(dir, ['output', '-raw', 'user_data']);
  }

  test('equals renderCloudInit with the same literal values', () => {
    expect(resolve(CA_KEY, TUNNEL_TOKEN)).toBe(renderCloudInit({ caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN, users }));
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
