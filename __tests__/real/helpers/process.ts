// running the programs the tests check against: absolute paths, spawning, waiting.
import { spawn, spawnSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';

// absolute paths: a developer's PATH may put pyenv or Homebrew shims first.
export const TOOLS = {
  cloudInit: '/usr/bin/cloud-init',
  sshd: '/usr/sbin/sshd',
  ssh: '/usr/bin/ssh',
  sshKeygen: '/usr/bin/ssh-keygen',
  systemdAnalyze: '/usr/bin/systemd-analyze',
  useradd: '/usr/sbin/useradd',
  userdel: '/usr/sbin/userdel',
  groupdel: '/usr/sbin/groupdel',
  chpasswd: '/usr/sbin/chpasswd',
  getent: '/usr/bin/getent',
  passwd: '/usr/bin/passwd',
  id: '/usr/bin/id',
  visudo: '/usr/sbin/visudo',
  sh: '/bin/sh',
  sudo: '/usr/bin/sudo',
  unshare: '/usr/bin/unshare',
} as const;

/** Debian's pristine sshd_config as shipped by openssh-server (/etc/ssh/sshd_config may be edited). */
export const STOCK_SSHD_CONFIG = existsSync('/usr/share/openssh/sshd_config')
  ? '/usr/share/openssh/sshd_config'
  : '/etc/ssh/sshd_config';


export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    env: opts.env ?? process.env,
    timeout: opts.timeoutMs ?? 20000,
    encoding: 'utf8',
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs and throws with the program's output unless it exits 0. */
export function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): RunResult {
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return r;
}

/** Like {@link run}, without blocking, so independent checks can run side by side. */
export function runAsync(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, stdout, stderr }); });
    child.stdin.end(opts.input ?? '');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The interpreter cloud-init itself runs with (its module is not on pyenv's or a venv's path). */
export function cloudInitPython(): string {
  const shebang = readFileSync(TOOLS.cloudInit, 'utf8').split('\n', 1)[0];
  const m = /^#!\s*(\S+)/.exec(shebang);
  if (!m) throw new Error(`${TOOLS.cloudInit} has no #! line: ${shebang}`);
  return m[1];
}
