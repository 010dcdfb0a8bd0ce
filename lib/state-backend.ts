import { CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, TerraformBackend, TerraformStack } from 'cdktf';

/**
 * Chooses where Terraform keeps a stack's state, from environment variables, so the same app runs
 * from a laptop (local file) and from a team's pipeline (DigitalOcean Spaces or HCP Terraform).
 * Credentials are never read here: Spaces keys come from AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY, HCP Terraform's from TF_TOKEN_app_terraform_io or `terraform login`, at
 * plan time.
 */
export class StateBackend {
  /**
   * Adds the backend the environment asks for to `stack`:
   * - `SPACES_BUCKET` + `SPACES_REGION`: an S3 backend on DigitalOcean Spaces with `use_lockfile`
   *   (Terraform ≥ 1.10 locks with a lock object, no DynamoDB needed);
   * - `TF_CLOUD_ORGANIZATION` + `TF_WORKSPACE`: HCP Terraform;
   * - neither: a local state file (`TF_LOCAL_STATE_PATH`, default `terraform.<stack>.tfstate`).
   *
   * Spaces also reads `SPACES_STATE_KEY` (default `<stack>/terraform.tfstate`).
   *
   * @param stack the stack whose state this is
   * @param env the variables to read (default: the process environment)
   * @throws Error when both remote backends are asked for, or one is missing its second variable.
   */
  public static fromEnvironment(stack: TerraformStack, env?: { [name: string]: string }): TerraformBackend {
    env = env ?? (process.env as { [name: string]: string });
    const name = stack.node.id;
    const spaces = nonEmpty(env.SPACES_BUCKET);
    const cloud = nonEmpty(env.TF_CLOUD_ORGANIZATION);
    if (spaces && cloud) {
      throw new Error(`both SPACES_BUCKET ("${spaces}") and TF_CLOUD_ORGANIZATION ("${cloud}") are set; unset one to choose where state lives`);
    }
    if (spaces) {
      const region = nonEmpty(env.SPACES_REGION);
      if (!region || !/^[a-z]{3}[0-9]$/.test(region)) {
        throw new Error(`SPACES_REGION ${JSON.stringify(env.SPACES_REGION ?? '')} must be a Spaces region such as "nyc3" when SPACES_BUCKET is set`);
      }
      const backend = new S3Backend(stack, {
        bucket: spaces,
        key: nonEmpty(env.SPACES_STATE_KEY) ?? `${name}/terraform.tfstate`,
        // spaces ignores the AWS region, but the backend requires one.
        region: 'us-east-1',
        endpoints: { s3: `https://${region}.digitaloceanspaces.com` },
        skipCredentialsValidation: true,
        skipRequestingAccountId: true,
        skipMetadataApiCheck: true,
        skipRegionValidation: true,
        skipS3Checksum: true,
      });
      // cdktf 0.21's types predate use_lockfile (Terraform 1.10); the override adds it.
      backend.addOverride('use_lockfile', true);
      return backend;
    }
    if (cloud) {
      const workspace = nonEmpty(env.TF_WORKSPACE);
      if (!workspace) {
        throw new Error(`TF_WORKSPACE must name an HCP Terraform workspace when TF_CLOUD_ORGANIZATION ("${cloud}") is set`);
      }
      return new CloudBackend(stack, { organization: cloud, workspaces: new NamedCloudWorkspace(workspace) });
    }
    return new LocalBackend(stack, { path: nonEmpty(env.TF_LOCAL_STATE_PATH) ?? `terraform.${name}.tfstate` });
  }

  private constructor() {}
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
