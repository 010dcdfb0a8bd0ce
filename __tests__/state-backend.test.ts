import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { AccessDroplet, StateBackend } from '../lib';
import { minimalProps } from './fixtures';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';

// jest runs in the project directory, which holds cdktf.json.
const PROJECT = join(__dirname, '..');

type StateBackendEnvironment = { [name: string]: string };

function backendOf(env: StateBackendEnvironment) {
  const stack = new TerraformStack(Testing.app(), 'access-droplet');
  StateBackend.fromEnvironment(stack, env);
  const { terraform } = JSON.parse(Testing.synth(stack));
  // HCP Terraform is a `cloud` block beside `backend`; exactly one of them is set.
  expect([terraform.backend, terraform.cloud].filter((b) => b !== undefined)).toHaveLength(1);
  return terraform.backend ?? { cloud: terraform.cloud };
}

describe('StateBackend.fromEnvironment', () => {
  test('defaults to a local state file named after the stack, by absolute path in the project directory', () => {
    // a relative path would be resolved inside cdktf.out/stacks/<stack>/, which cdktf deletes.
    expect(backendOf({})).toEqual({ local: { path: join(PROJECT, 'terraform.access-droplet.tfstate') } });
    expect(backendOf({ TF_LOCAL_STATE_PATH: 'state/x.tfstate' })).toEqual({ local: { path: join(PROJECT, 'state', 'x.tfstate') } });
    expect(backendOf({ TF_LOCAL_STATE_PATH: '/var/lib/x.tfstate' })).toEqual({ local: { path: '/var/lib/x.tfstate' } });
  });

  test('finds the project directory (cdktf.json) from a working directory below it, e.g. cdktf.out', () => {
    const project = mkdtempSync(join(tmpdir(), 'state-project-'));
    const cwd = process.cwd();
    try {
      writeFileSync(join(project, 'cdktf.json'), '{}');
      mkdirSync(join(project, 'cdktf.out', 'stacks', 'ssh'), { recursive: true });
      process.chdir(join(project, 'cdktf.out', 'stacks', 'ssh'));
      expect(backendOf({})).toEqual({ local: { path: join(project, 'terraform.access-droplet.tfstate') } });
    } finally {
      process.chdir(cwd);
      rmSync(project, { recursive: true, force: true });
    }
  });

  test('fails at synth while a renamed stack would leave its old state with resources behind; stateName keeps it', () => {
    const project = mkdtempSync(join(tmpdir(), 'state-project-'));
    const withResources = JSON.stringify({ version: 4, resources: [{ type: 'digitalocean_droplet', name: 'd', instances: [{}] }] });
    try {
      writeFileSync(join(project, 'terraform.ssh.tfstate'), withResources);
      const app = Testing.app();
      const renamed = new TerraformStack(app, 'ssh-prod');
      StateBackend.fromEnvironment(renamed, {}, { projectDir: project });
      expect(renamed.node.validate()).toEqual([
        expect.stringMatching(/stack "ssh-prod" has no state file .*terraform\.ssh\.tfstate in .* still holds resources; deploying would create a second copy.*stateName: "<old name>"/),
      ]);
      expect(() => Testing.synth(renamed, true)).toThrow(/still holds resources/);
      const kept = new TerraformStack(app, 'ssh-prod-2');
      StateBackend.fromEnvironment(kept, {}, { projectDir: project, stateName: 'ssh' });
      expect(JSON.parse(Testing.synth(kept, true)).terraform.backend).toEqual({ local: { path: join(project, 'terraform.ssh.tfstate') } });

      // another stack of the same app owns its state file, even when it is defined after this one.
      const app2 = Testing.app();
      const first = new TerraformStack(app2, 'db');
      StateBackend.fromEnvironment(first, {}, { projectDir: project });
      new TerraformStack(app2, 'ssh');
      expect(first.node.validate()).toEqual([]);
      // ...or through stateName.
      const app3 = Testing.app();
      const a = new TerraformStack(app3, 'a');
      StateBackend.fromEnvironment(a, {}, { projectDir: project });
      StateBackend.fromEnvironment(new TerraformStack(app3, 'b'), {}, { projectDir: project, stateName: 'ssh' });
      expect(a.node.validate()).toEqual([]);

      // a state file whose resources were all destroyed is no orphan to protect.
      writeFileSync(join(project, 'terraform.ssh.tfstate'), JSON.stringify({ version: 4, resources: [] }));
      const fresh = new TerraformStack(Testing.app(), 'ssh-prod');
      StateBackend.fromEnvironment(fresh, {}, { projectDir: project });
      expect(fresh.node.validate()).toEqual([]);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  test('a stack named from the environment has its first synth beside another environment\'s state; a real rename still fails', () => {
    const project = mkdtempSync(join(tmpdir(), 'state-project-'));
    /** a stack `ssh-<env>` as `ssh-${ENV}` apps write it: its droplet is named for its environment. */
    const stackFor = (env: string, id = `ssh-${env}`) => {
      const stack = new TerraformStack(Testing.app(), id);
      new CloudflareProvider(stack, 'cloudflare', {});
      new DigitaloceanProvider(stack, 'digitalocean', {});
      new AccessDroplet(stack, 'Bastion', { ...minimalProps, hostname: `ssh-${env}.widgetcorp.tech` });
      StateBackend.fromEnvironment(stack, {}, { projectDir: project });
      return stack;
    };
    /** the state a deploy of `env` left: its resources with the names it gave them. */
    const stateOf = (env: string) => JSON.stringify({
      version: 4,
      resources: [
        { mode: 'managed', type: 'digitalocean_droplet', name: 'Bastion_Droplet_6B1B47A6', instances: [{ attributes: { name: `ssh-${env}.widgetcorp.tech` } }] },
        { mode: 'managed', type: 'cloudflare_zero_trust_tunnel_cloudflared', name: 'Bastion_Tunnel_0C1E3E21', instances: [{ attributes: { name: `ssh-${env}-widgetcorp-tech` } }] },
      ],
    });
    try {
      writeFileSync(join(project, 'terraform.ssh-prod.tfstate'), stateOf('prod'));
      // ENV=dev beside prod's state: a sibling, not an orphan.
      expect(stackFor('dev').node.validate()).toEqual([]);
      // the dev stack renamed to "ssh-development", dev's state left under the old name: the same names.
      writeFileSync(join(project, 'terraform.ssh-dev.tfstate'), stateOf('dev'));
      expect(stackFor('dev', 'ssh-development').node.validate()).toEqual([
        expect.stringMatching(/stack "ssh-development" has no state file .* terraform\.ssh-dev\.tfstate in .* still holds resources.*stateName: "<old name>"/),
      ]);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  test('uses DigitalOcean Spaces with a lock file when SPACES_BUCKET is set', () => {
    expect(backendOf({ SPACES_BUCKET: 'team-state', SPACES_REGION: 'fra1' })).toEqual({
      s3: {
        bucket: 'team-state',
        key: 'access-droplet/terraform.tfstate',
        region: 'us-east-1',
        endpoints: { s3: 'https://fra1.digitaloceanspaces.com' },
        skip_credentials_validation: true,
        skip_requesting_account_id: true,
        skip_metadata_api_check: true,
        skip_region_validation: true,
        skip_s3_checksum: true,
        use_lockfile: true,
      },
    });
    expect(backendOf({ SPACES_BUCKET: 'b', SPACES_REGION: 'nyc3', SPACES_STATE_KEY: 'prod/ssh.tfstate' }).s3.key).toBe('prod/ssh.tfstate');
  });

  test('uses HCP Terraform when TF_CLOUD_ORGANIZATION is set', () => {
    expect(backendOf({ TF_CLOUD_ORGANIZATION: 'widgetcorp', TF_WORKSPACE: 'ssh-prod' })).toEqual({
      cloud: { organization: 'widgetcorp', workspaces: { name: 'ssh-prod' } },
    });
  });

  test('never writes credentials into the synthesized backend', () => {
    const s3 = JSON.stringify(backendOf({ SPACES_BUCKET: 'b', SPACES_REGION: 'nyc3' }));
    expect(s3).not.toMatch(/access_key|secret|token/i);
  });

  test('fails the synth (error annotation) while the state is still in cdktf.out, where v0.1.0 kept it', () => {
    const project = mkdtempSync(join(tmpdir(), 'state-project-'));
    try {
      const outdir = join(project, 'cdktf.out');
      mkdirSync(join(outdir, 'stacks', 'ssh'), { recursive: true });
      writeFileSync(join(outdir, 'stacks', 'ssh', 'terraform.ssh.tfstate'), '{}');
      const stack = new TerraformStack(Testing.app({ outdir }), 'ssh');
      StateBackend.fromEnvironment(stack, {}, { projectDir: project });
      const errors = stack.node.metadata.filter((m) => m.type === '@cdktf/error').map((m) => String(m.data));
      expect(errors).toEqual([expect.stringContaining(`mv ${JSON.stringify(join(outdir, 'stacks', 'ssh', 'terraform.ssh.tfstate'))} ${JSON.stringify(join(project, 'terraform.ssh.tfstate'))}`)]);
      // once moved, no error.
      writeFileSync(join(project, 'terraform.ssh.tfstate'), '{}');
      const moved = new TerraformStack(Testing.app({ outdir }), 'ssh');
      StateBackend.fromEnvironment(moved, {}, { projectDir: project });
      expect(moved.node.metadata.filter((m) => m.type === '@cdktf/error')).toEqual([]);
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });

  test('fails on a stateName that is no file name', () => {
    expect(() => StateBackend.fromEnvironment(new TerraformStack(Testing.app(), 's'), {}, { stateName: '../x' }))
      .toThrow(/stateName "\.\.\/x" must be letters, digits, "\.", "-" or "_"/);
  });

  test.each([
    ['fails when both remote backends are set', { SPACES_BUCKET: 'b', SPACES_REGION: 'nyc3', TF_CLOUD_ORGANIZATION: 'o', TF_WORKSPACE: 'w' }, /both SPACES_BUCKET \("b"\) and TF_CLOUD_ORGANIZATION \("o"\) are set/],
    ['fails on Spaces without a region', { SPACES_BUCKET: 'b' }, /SPACES_REGION "" must be a Spaces region such as "nyc3"/],
    ['fails on a Spaces region that is no region', { SPACES_BUCKET: 'b', SPACES_REGION: 'us-east-1' }, /SPACES_REGION "us-east-1" must be a Spaces region/],
    ['fails on HCP Terraform without a workspace', { TF_CLOUD_ORGANIZATION: 'o' }, /TF_WORKSPACE must name an HCP Terraform workspace when TF_CLOUD_ORGANIZATION \("o"\) is set/],
  ])('%s', (_n, env, message) => {
    expect(() => backendOf(env)).toThrow(message);
  });
});
