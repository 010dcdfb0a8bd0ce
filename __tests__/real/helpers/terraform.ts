// terraform and the real cdktf-cli, with provider-free stacks (terraform_data needs no download):
// a throw-away cdktf project (cdktf.json, main.ts, node_modules linked to ours), or terraform
// run on a directory of the test's.
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ROOT } from './files';

/** the environment cdktf and terraform run with: no checkpoint calls, no user CLI config, `extra` on top. */
function terraformEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '/dev/null', CI: process.env.CI ?? '', ...extra,
  };
}

/** runs terraform (needs NEEDS.terraform) in `cwd`; returns stdout, throws unless it exits 0. */
export function terraform(cwd: string, args: string[]): string {
  return execFileSync('terraform', args, { cwd, env: terraformEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** how a terraform run ended. */
export interface TerraformResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * runs terraform (needs NEEDS.terraform) in `cwd` and returns how it exited, for commands whose
 * exit code is the answer (`plan -detailed-exitcode` exits 2 when there are changes).
 */
export function terraformResult(cwd: string, args: string[]): TerraformResult {
  const r = spawnSync('terraform', args, { cwd, env: terraformEnv(), encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface Project {
  readonly dir: string;
  /** writes main.ts (TypeScript, run by ts-node like a `cdktf init` project). */
  main(source: string): void;
  /** runs `npx cdktf <args>`; returns combined output, throws unless it exits 0. */
  cdktf(args: string[], env?: NodeJS.ProcessEnv): string;
  remove(): void;
}

/** a new cdktf project in a temporary directory named after `prefix`; `remove()` deletes it. */
export function newProject(prefix: string): Project {
  const dir = mkdtempSync(join(tmpdir(), `cdktf-access-droplet-${prefix}-`));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({
    language: 'typescript', app: 'node -r ts-node/register/transpile-only main.ts', sendCrashReports: 'false',
    terraformProviders: [], terraformModules: [], context: {},
  }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2020', module: 'commonjs', strict: true, skipLibCheck: true } }));
  return {
    dir,
    main: (source) => writeFileSync(join(dir, 'main.ts'), source),
    cdktf: (args, extra) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf'), ...args], {
        cwd: dir, env: terraformEnv(extra), encoding: 'utf8', timeout: 120000,
      });
      const out = `${r.stdout}\n${r.stderr}`;
      if (r.status !== 0) throw new Error(`cdktf ${args.join(' ')} exited ${r.status}:\n${out}`);
      return out;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
