import { Testing, TerraformStack } from 'cdktf';
import { StateBackend } from '../lib';

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
  test('defaults to a local state file named after the stack', () => {
    expect(backendOf({})).toEqual({ local: { path: 'terraform.access-droplet.tfstate' } });
    expect(backendOf({ TF_LOCAL_STATE_PATH: 'state/x.tfstate' })).toEqual({ local: { path: 'state/x.tfstate' } });
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

  test.each([
    ['fails when both remote backends are set', { SPACES_BUCKET: 'b', SPACES_REGION: 'nyc3', TF_CLOUD_ORGANIZATION: 'o', TF_WORKSPACE: 'w' }, /both SPACES_BUCKET \("b"\) and TF_CLOUD_ORGANIZATION \("o"\) are set/],
    ['fails on Spaces without a region', { SPACES_BUCKET: 'b' }, /SPACES_REGION "" must be a Spaces region such as "nyc3"/],
    ['fails on a Spaces region that is no region', { SPACES_BUCKET: 'b', SPACES_REGION: 'us-east-1' }, /SPACES_REGION "us-east-1" must be a Spaces region/],
    ['fails on HCP Terraform without a workspace', { TF_CLOUD_ORGANIZATION: 'o' }, /TF_WORKSPACE must name an HCP Terraform workspace when TF_CLOUD_ORGANIZATION \("o"\) is set/],
  ])('%s', (_n, env, message) => {
    expect(() => backendOf(env)).toThrow(message);
  });
});
