import { log, RunResult } from './util';

/**
 * Checks that are known to fail until another branch lands can be left out by name:
 * `E2E_SKIP` is a regular expression matched against each check's name. A skipped check is
 * listed as skipped, never counted as passed.
 */
export function skipPattern(env: NodeJS.ProcessEnv = process.env): RegExp | undefined {
  const source = env.E2E_SKIP?.trim();
  return source ? new RegExp(source, 'i') : undefined;
}

/** Runs named checks, prints one line each, and counts them. */
export class Checks {
  passed = 0;
  failed = 0;
  skipped = 0;

  /**
   * @param label put before each line (`debian-12 ConfigDrive: ok   - ...`), so the lines of
   *   runs side by side can be told apart.
   */
  constructor(private readonly skip: RegExp | undefined = skipPattern(), readonly label = '') {}

  /** Logs `message` with this run's label. */
  log(message: string): void {
    log(this.label ? `${this.label}: ${message}` : message);
  }

  async check(name: string, fn: () => Promise<void> | void): Promise<boolean> {
    if (this.skip?.test(name)) {
      this.skipped++;
      this.log(`skip - ${name} (matches E2E_SKIP)`);
      return false;
    }
    const start = Date.now();
    const took = () => `(${((Date.now() - start) / 1000).toFixed(1)} s)`;
    try {
      await fn();
      this.passed++;
      this.log(`ok   - ${name} ${took()}`);
      return true;
    } catch (e) {
      this.failed++;
      const message = e instanceof Error ? e.message : String(e);
      this.log(`FAIL - ${name} ${took()}\n${message.split('\n').map((l) => `       ${l}`).join('\n')}`);
      return false;
    }
  }

  /** A failure outside any check (the VM never came up, ...), counted as one failed check. */
  fail(message: string): void {
    this.failed++;
    this.log(`FAIL - ${message}`);
  }
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A command's result, short enough for a failure message. */
export function show(r: RunResult): string {
  return `exit ${r.code ?? r.signal}; stdout: ${JSON.stringify(r.stdout.trim().slice(-600))}; stderr: ${JSON.stringify(r.stderr.trim().slice(-600))}`;
}

/** What the VM told us about itself, for the summary line. */
export interface ImageFacts {
  datasource?: string;
  cloudInit?: string;
  openssh?: string;
}

/**
 * The line printed after each image, exactly:
 * `e2e: <image>: datasource <name>, cloud-init <version>, OpenSSH <version>, <n> passed, <m> failed`.
 */
export function summaryLine(image: string, facts: ImageFacts, checks: Checks): string {
  const v = (x: string | undefined) => x ?? 'unknown';
  return `${image}: datasource ${v(facts.datasource)}, cloud-init ${v(facts.cloudInit)}, ` +
    `OpenSSH ${v(facts.openssh)}, ${checks.passed} passed, ${checks.failed} failed`;
}
