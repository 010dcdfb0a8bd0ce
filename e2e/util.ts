import { spawn, SpawnOptions } from 'child_process';
import { createHash } from 'crypto';

/** What a finished command left behind. */
export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** written to the command's stdin, which is closed afterwards. */
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** the command is killed after this long and counts as failed. */
  readonly timeoutMs?: number;
  /** resolve with the result instead of throwing on a non-zero exit. */
  readonly allowFail?: boolean;
  /** forward output to the harness's own stdout/stderr as it comes (long builds). */
  readonly echo?: boolean;
}

/** Thrown by {@link run} when a command fails; carries the output for the report. */
export class CommandError extends Error {
  constructor(message: string, readonly result: RunResult) {
    super(message);
  }
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/** Runs a command without a shell and collects its output. */
export function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    };
    const child = spawn(cmd, [...args], spawnOptions);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.echo) process.stdout.write(d);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.echo) process.stderr.write(d);
    });
    // a child that exits before reading its stdin must not crash the harness with EPIPE.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
    const timer = options.timeoutMs
      ? setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs)
      : undefined;
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new CommandError(`cannot run ${cmd}: ${err.message}`, { code: null, signal: null, stdout, stderr }));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const result = { code, signal, stdout, stderr };
      if (timedOut) {
        reject(new CommandError(`${describe(cmd, args)} timed out after ${options.timeoutMs} ms`, result));
      } else if (code !== 0 && !options.allowFail) {
        const tail = lastLines(stderr || stdout, 20);
        reject(new CommandError(`${describe(cmd, args)} exited with ${code ?? signal}${tail ? `:\n${tail}` : ''}`, result));
      } else {
        resolve(result);
      }
    });
  });
}

/** A short, stable hash of the given parts (strings or buffers), in order. */
export function hashOf(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    // the length prefix keeps ["ab", "c"] and ["a", "bc"] apart.
    const b = typeof p === 'string' ? Buffer.from(p) : p;
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest('hex').slice(0, 16);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function log(message: string): void {
  process.stdout.write(`e2e: ${message}\n`);
}

/**
 * Records how long each phase took, for the summary. Phases of runs side by side overlap, so the
 * summary ends with the wall-clock time since the first phase began, not their sum.
 */
export class Timings {
  private readonly entries: [string, number][] = [];
  private started: number | undefined;

  async time<T>(phase: string, fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    this.started ??= start;
    log(`${phase}...`);
    try {
      return await fn();
    } finally {
      const seconds = (Date.now() - start) / 1000;
      this.entries.push([phase, seconds]);
      log(`${phase}: ${seconds.toFixed(1)} s`);
    }
  }

  /** A phase that was skipped because its result came from the cache. */
  skipped(phase: string, why: string): void {
    this.entries.push([`${phase} (${why})`, 0]);
    log(`${phase}: skipped, ${why}`);
  }

  summary(now = Date.now()): string {
    const wall = this.started === undefined ? 0 : (now - this.started) / 1000;
    return [...this.entries.map(([p, t]) => `  ${p.padEnd(44)} ${t.toFixed(1).padStart(7)} s`),
      `  ${'wall clock'.padEnd(44)} ${wall.toFixed(1).padStart(7)} s`].join('\n');
  }
}
