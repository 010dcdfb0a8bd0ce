import { existsSync, readdirSync, readFileSync } from 'fs';
import { dirname, isAbsolute, join, resolve } from 'path';
import { IConstruct } from 'constructs';
import { Annotations, App, CloudBackend, LocalBackend, NamedCloudWorkspace, S3Backend, TerraformBackend, TerraformStack } from 'cdktf';

/** Options of {@link StateBackend.fromEnvironment}. */
export interface StateBackendOptions {
  /**
   * The name in the local state file's name, `terraform.<stateName>.tfstate`. Set it to the old
   * stack name when you rename a stack, so the renamed stack keeps its state.
   *
   * @default - the stack's id
   */
  readonly stateName?: string;

  /**
   * The directory that holds the local state file (and against which a relative
   * `TF_LOCAL_STATE_PATH` is resolved).
   *
   * @default - the project directory: the nearest directory holding `cdktf.json`, from the
   * working directory up (cdktf runs the app there), else the working directory
   */
  readonly projectDir?: string;
}

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
   * - neither: a local state file at an ABSOLUTE path in the project directory (`TF_LOCAL_STATE_PATH`,
   *   default `<project>/terraform.<stack>.tfstate`). A relative path would be resolved by
   *   Terraform inside `cdktf.out/stacks/<stack>/`, which cdktf deletes when the stack is renamed
   *   and `rm -rf cdktf.out` deletes: the next deploy would then create every resource again.
   *   When the stack has no state file yet but the project directory holds another
   *   `terraform.*.tfstate` that no stack of the app owns and that still lists resources with the
   *   names this stack gives its own (what a stack rename leaves), the synth fails and says to
   *   pass `stateName`; another environment's state beside it (a stack named `ssh-${ENV}`, its
   *   resources named otherwise) is left alone; when
   *   the state is still inside `cdktf.out` (where v0.1.0 kept it), the synth fails with the
   *   commands that move it and deploy once with `--migrate-state`.
   *
   * Spaces also reads `SPACES_STATE_KEY` (default `<stack>/terraform.tfstate`).
   *
   * @param stack the stack whose state this is
   * @param env the variables to read (default: the process environment)
   * @param options the local state file's name and directory
   * @throws Error when both remote backends are asked for, or one is missing its second variable.
   */
  public static fromEnvironment(stack: TerraformStack, env?: { [name: string]: string }, options: StateBackendOptions = {}): TerraformBackend {
    env = env ?? (process.env as { [name: string]: string });
    const stateName = options.stateName ?? stack.node.id;
    if (!/^[A-Za-z0-9._-]+$/.test(stateName)) {
      throw new Error(`stateName ${JSON.stringify(stateName)} must be letters, digits, ".", "-" or "_" (it names terraform.<stateName>.tfstate)`);
    }
    const name = stateName;
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
    const projectDir = resolve(options.projectDir ?? findProjectDir(process.cwd()));
    const explicit = nonEmpty(env.TF_LOCAL_STATE_PATH);
    const path = explicit === undefined
      ? join(projectDir, `terraform.${name}.tfstate`)
      : isAbsolute(explicit) ? explicit : resolve(projectDir, explicit);
    refuseLegacyState(stack, explicit ?? `terraform.${name}.tfstate`, path);
    if (explicit === undefined) refuseOrphanedState(stack, projectDir, path);
    return new LocalBackend(stack, { path });
  }

  private constructor() {}
}

/** the nearest directory from `start` up that holds cdktf.json, else `start`. */
function findProjectDir(start: string): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'cdktf.json'))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
}

/**
 * fails the synth when the state is still where v0.1.0 put it (the relative path, resolved by
 * Terraform inside cdktf.out/stacks/<stack>/) and not at the new path: deploying would create a
 * second copy of every resource.
 */
function refuseLegacyState(stack: TerraformStack, relative: string, path: string) {
  if (isAbsolute(relative) || existsSync(path)) return;
  let outdir: string;
  try {
    outdir = App.of(stack).outdir;
  } catch {
    return;
  }
  const legacy = resolve(outdir, 'stacks', stack.node.id, relative);
  if (legacy !== path && existsSync(legacy)) {
    Annotations.of(stack).addError(
      `the state of stack "${stack.node.id}" is still at ${legacy}, inside cdktf.out, where cdktf deletes it; move it before deploying, ` +
      'or a second copy of every resource is created, then deploy once with --migrate-state (the stack\'s .terraform still records ' +
      `the old path, and terraform refuses a changed backend without it): mv ${JSON.stringify(legacy)} ${JSON.stringify(path)} && npx cdktf deploy --migrate-state`,
    );
  }
}

// the local state files each app's stacks use, so one stack's file is never another's orphan.
const claimedPaths = new WeakMap<IConstruct, Set<string>>();

/**
 * at synth, when every stack of the app exists: fails when this stack has no state file yet while
 * another state file in the project directory, owned by no stack of the app, still holds
 * resources. That is what a stack rename leaves behind, and deploying would create a second copy
 * of every resource (a second droplet and tunnel, billing beside the first).
 */
function refuseOrphanedState(stack: TerraformStack, projectDir: string, path: string) {
  const claimed = claimedPaths.get(stack.node.root) ?? new Set<string>();
  claimedPaths.set(stack.node.root, claimed.add(path));
  stack.node.addValidation({
    validate: () => {
      if (existsSync(path) || !existsSync(projectDir)) return [];
      // the files the app's other stacks use (by stateName, or by their id) are theirs.
      const owned = new Set([
        ...(claimedPaths.get(stack.node.root) ?? []),
        ...stack.node.root.node.findAll().filter((c) => c !== stack && TerraformStack.isStack(c))
          .map((c) => join(projectDir, `terraform.${c.node.id}.tfstate`)),
      ]);
      let names: Map<string, Set<string>> | undefined;
      const orphans = readdirSync(projectDir)
        .filter((f) => /^terraform\..+\.tfstate$/.test(f))
        .filter((f) => join(projectDir, f) !== path && !owned.has(join(projectDir, f)) && holdsResources(join(projectDir, f)))
        // a sibling stack of the app (`ssh-${ENV}`: another environment's state, its resources
        // named otherwise) is no orphan of this one; a renamed stack's state names the same things.
        .filter((f) => !isSibling(join(projectDir, f), (names ??= namesOf(stack))));
      if (orphans.length === 0) return [];
      return [
        `stack "${stack.node.id}" has no state file ${path} yet, but ${orphans.join(', ')} in ${projectDir} still holds resources; ` +
        'deploying would create a second copy of every resource. If you renamed a stack, pass { stateName: "<old name>" } to ' +
        'StateBackend.fromEnvironment (or rename the file); if that stack is gone, destroy its resources or delete the file',
      ];
    },
  });
}

/** the `name` of each resource the stack defines, by resource type (the physical names). */
function namesOf(stack: TerraformStack): Map<string, Set<string>> {
  const names = new Map<string, Set<string>>();
  const resources = (stack.toTerraform() as { resource?: Record<string, Record<string, { name?: unknown }>> }).resource ?? {};
  for (const [type, blocks] of Object.entries(resources)) {
    for (const block of Object.values(blocks)) {
      if (typeof block.name === 'string') names.set(type, (names.get(type) ?? new Set()).add(block.name));
    }
  }
  return names;
}

/**
 * whether a state file belongs to another stack that lives beside this one: it names its
 * resources, and none of those names is one of this stack's resources of the same type. A state
 * that names nothing (or cannot be read) is not taken for a sibling: the synth fails, as for a
 * rename, rather than risk a second copy of every resource.
 */
function isSibling(file: string, names: Map<string, Set<string>>): boolean {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8'));
    let named = 0;
    for (const r of state.resources ?? []) {
      if (r.mode === 'data') continue;
      for (const instance of r.instances ?? []) {
        const name = instance?.attributes?.name;
        if (typeof name !== 'string') continue;
        named++;
        if (names.get(r.type)?.has(name)) return false;
      }
    }
    return named > 0;
  } catch {
    return false;
  }
}

/** whether a Terraform state file lists any resource (an unreadable file counts as holding some). */
function holdsResources(file: string): boolean {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8'));
    return !Array.isArray(state.resources) || state.resources.length > 0;
  } catch {
    return true;
  }
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}
