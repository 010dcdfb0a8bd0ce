// runs the example app the way `cdktf synth` does (a separate node process) and reads its output.
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const root = join(__dirname, '..');
const SETTINGS = [
  'CLOUDFLARE_ACCOUNT_ID', 'CLOUDFLARE_ZONE_ID', 'ACCESS_HOSTNAME', 'ACCESS_USERS', 'ACCESS_EMAIL_DOMAINS', 'DO_REGION', 'DO_SIZE',
  'WAIT_FOR_READY', 'SPACES_BUCKET', 'SPACES_REGION', 'SPACES_STATE_KEY', 'TF_CLOUD_ORGANIZATION', 'TF_WORKSPACE', 'TF_LOCAL_STATE_PATH',
];

function synthMain(env: Record<string, string> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'main-synth-'));
  try {
    execFileSync(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'main.ts'], {
      cwd: root,
      // the test decides the backend and the settings: none leak in from the caller's shell.
      env: { ...process.env, ...Object.fromEntries(SETTINGS.map((k) => [k, ''])), CDKTF_OUTDIR: outdir, ...env },
      stdio: 'pipe',
    });
    return JSON.parse(readFileSync(join(outdir, 'stacks', 'access-droplet', 'cdk.tf.json'), 'utf8'));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function only(stack: any, type: string) {
  const values = Object.values(stack.resource[type] ?? {}) as any[];
  expect(values).toHaveLength(1);
  return values[0];
}

describe('example app (main.ts)', () => {
  test('synthesizes offline with placeholders, providers and a local backend', () => {
    const stack = synthMain();
    expect(stack.terraform.backend).toEqual({ local: { path: join(root, 'terraform.access-droplet.tfstate') } });
    expect(Object.keys(stack.provider).sort()).toEqual(['cloudflare', 'digitalocean', 'null']);
    expect(stack.resource.null_resource).toBeUndefined();
    // no secret in the synthesized JSON: the providers read their tokens from the environment.
    expect(JSON.stringify(stack.provider)).not.toMatch(/token/i);
    expect(only(stack, 'cloudflare_dns_record').name).toBe('droplet.widgetcorp.tech');
  }, 60000);

  test('reads real values from the environment', () => {
    const stack = synthMain({
      CLOUDFLARE_ACCOUNT_ID: 'a1b2c3', CLOUDFLARE_ZONE_ID: 'z9y8x7', ACCESS_HOSTNAME: 'ssh.example.org',
      ACCESS_USERS: 'ann@example.org, bob@example.org', ACCESS_EMAIL_DOMAINS: 'example.org', DO_REGION: 'ams3', DO_SIZE: 's-2vcpu-2gb',
    });
    expect(only(stack, 'cloudflare_zero_trust_tunnel_cloudflared').account_id).toBe('a1b2c3');
    expect(only(stack, 'cloudflare_dns_record')).toMatchObject({ zone_id: 'z9y8x7', name: 'ssh.example.org' });
    expect(only(stack, 'digitalocean_droplet')).toMatchObject({ region: 'ams3', size: 's-2vcpu-2gb', name: 'ssh.example.org' });
    expect(only(stack, 'cloudflare_zero_trust_access_policy').include).toEqual([
      { email: { email: 'ann@example.org' } }, { email: { email: 'bob@example.org' } }, { email_domain: { domain: 'example.org' } },
    ]);
  }, 60000);

  test('chooses a remote backend and waits for readiness when asked', () => {
    const stack = synthMain({ SPACES_BUCKET: 'team-state', SPACES_REGION: 'ams3', WAIT_FOR_READY: 'true' });
    expect(stack.terraform.backend.s3).toMatchObject({ bucket: 'team-state', use_lockfile: true, endpoints: { s3: 'https://ams3.digitaloceanspaces.com' } });
    expect(Object.keys(stack.resource.null_resource)).toHaveLength(1);
  }, 60000);
});
