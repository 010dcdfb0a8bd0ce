// a throw-away cdktf project (cdktf.json, main.ts, node_modules linked to ours) for tests that run
// the real cdktf-cli and terraform with provider-free stacks (terraform_data needs no download).
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export const ROOT = join(__dirname, '..', '..');

function hasTerraform(): boolean {
  try {
    execFileSync('terraform', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** describe, or describe.skip with the reason printed when terraform is missing (never under CI). */
export function describeWithTerraform(name: string, fn: () => void): void {
  const available = hasTerraform();
  if (!available && process.env.CI === 'true') {
    throw new Error(`${name}: terraform is not on PATH; CI must have it (this test cannot be skipped under CI)`);
  }
  if (!available) console.warn(`skipping "${name}": terraform is not installed`);
  (available ? describe : describe.skip)(name, fn);
}

export interface Project {
  readonly dir: string;
  /** writes main.ts (TypeScript, run by ts-node like a `cdktf init` project). */
  main(source: string): void;
  /** runs `npx cdktf <args>`; returns combined output, throws unless it exits 0. */
  cdktf(args: string[], env?: NodeJS.ProcessEnv): string;
  /** runs terraform in `cwd` (relative to the project); throws unless it exits 0. */
  terraform(cwd: string, args: string[]): string;
  remove(): void;
}

export function newProject(prefix: string): Project {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'cdktf.json'), JSON.stringify({
    language: 'typescript', app: 'node -r ts-node/register/transpile-only main.ts', sendCrashReports: 'false',
    terraformProviders: [], terraformModules: [], context: {},
  }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2020', module: 'commonjs', strict: true, skipLibCheck: true } }));
  const env = (extra: NodeJS.ProcessEnv = {}) => ({
    ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '/dev/null', CI: process.env.CI ?? '', ...extra,
  });
  return {
    dir,
    main: (source) => writeFileSync(join(dir, 'main.ts'), source),
    cdktf: (args, extra) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf'), ...args], {
        cwd: dir, env: env(extra), encoding: 'utf8', timeout: 120000,
      });
      const out = `${r.stdout}\n${r.stderr}`;
      if (r.status !== 0) throw new Error(`cdktf ${args.join(' ')} exited ${r.status}:\n${out}`);
      return out;
    },
    terraform: (cwd, args) => execFileSync('terraform', args, {
      cwd: join(dir, cwd), env: env(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
