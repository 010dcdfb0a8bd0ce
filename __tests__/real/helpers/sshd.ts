// a real sshd on loopback, and ssh logins against it.
import { spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';
import { RunResult, STOCK_SSHD_CONFIG, TOOLS, run, runOk, sleep } from './process';
import { KeyPair, writeFile } from './files';

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningSshd {
  readonly port: number;
  readonly log: string;
  /** what sshd logged since the last call. */
  newLog(): string;
  stop(): Promise<void>;
}

const runningSshds: RunningSshd[] = [];

/**
 * Starts `/usr/sbin/sshd -D` with `config` on 127.0.0.1 and a free port, logging to a file, and
 * waits until it listens. `extra` are more `-o` options (they take precedence over the file).
 */
export async function startSshd(config: string, hostKey: string, dir: string, extra: string[] = []): Promise<RunningSshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const log = join(dir, `sshd-${port}.log`);
  writeFileSync(log, '');
  const args = ['-D', '-f', config, '-h', hostKey, '-p', String(port), '-E', log,
    // PidFile none: never overwrite the machine's own /run/sshd.pid.
    '-o', 'ListenAddress=127.0.0.1', '-o', 'PidFile=none', '-o', 'LogLevel=VERBOSE', ...extra.flatMap((o) => ['-o', o])];
  const child = spawn(TOOLS.sshd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  let offset = 0;
  const sshd: RunningSshd = {
    port,
    log,
    newLog() {
      const all = readFileSync(log, 'utf8');
      const fresh = all.slice(offset);
      offset = all.length;
      return fresh;
    },
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        for (let i = 0; i < 50 && !exited; i++) await sleep(20);
        if (!exited) child.kill('SIGKILL');
      }
    },
  };
  runningSshds.push(sshd);
  const listening = `Server listening on 127.0.0.1 port ${port}.`;
  for (let i = 0; i < 500; i++) {
    if (readFileSync(log, 'utf8').includes(listening)) return sshd;
    if (exited) break;
    await sleep(20);
  }
  await sshd.stop();
  throw new Error(`sshd did not start on port ${port}\nstderr: ${stderr}\nlog: ${readFileSync(log, 'utf8')}`);
}

export async function stopAllSshds(): Promise<void> {
  while (runningSshds.length) await runningSshds.pop()!.stop();
}

/** Replaces the one line `from` with `to`, and fails unless it was there exactly once. */
export function replaceLine(text: string, from: string, to: string): string {
  const lines = text.split('\n');
  const hits = lines.filter((l) => l === from).length;
  if (hits !== 1) throw new Error(`expected the line "${from}" once, found it ${hits} times in:\n${text}`);
  return lines.map((l) => (l === from ? to : l)).join('\n');
}

/**
 * An sshd configuration in `root`: Debian's stock sshd_config including `root`'s sshd_config.d,
 * which holds `dropIns` (file name → content).
 */
export function writeSshdConfig(root: string, dropIns: Record<string, string>): string {
  const config = join(root, 'etc/ssh/sshd_config');
  const stock = readFileSync(STOCK_SSHD_CONFIG, 'utf8');
  writeFile(config, replaceLine(stock, 'Include /etc/ssh/sshd_config.d/*.conf', `Include ${root}/etc/ssh/sshd_config.d/*.conf`));
  for (const [name, content] of Object.entries(dropIns)) writeFile(join(root, 'etc/ssh/sshd_config.d', name), content);
  return config;
}

/** `sshd -T`: the effective configuration, keyword (lower case) → values. */
export function sshdEffectiveConfig(config: string, hostKey: string): Map<string, string[]> {
  const out = runOk(TOOLS.sshd, ['-T', '-f', config, '-h', hostKey]).stdout;
  const map = new Map<string, string[]>();
  for (const line of out.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

/** ssh options that make a login depend on nothing but the arguments given. */
export function sshBaseArgs(port: number): string[] {
  return ['-F', '/dev/null', '-p', String(port),
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'IdentityAgent=none', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR'];
}

/** Logs in with a key and certificate in batch mode and runs `id -un`. */
export function sshWithCert(port: number, user: string, key: KeyPair, cert: string | undefined): RunResult {
  // certificates are named after their case, never KEY-cert.pub, so ssh loads none by itself.
  const args = [...sshBaseArgs(port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key.privateKey];
  if (cert) args.push('-o', `CertificateFile=${cert}`);
  return run(TOOLS.ssh, [...args, `${user}@127.0.0.1`, 'id', '-un']);
}

/**
 * Tries a password login with `password` typed by an askpass program; returns the result and
 * whether ssh asked for the password at all.
 */
export function sshWithPassword(port: number, user: string, password: string, dir: string): RunResult & { asked: boolean } {
  const marker = join(dir, `askpass-asked-${randomBytes(4).toString('hex')}`);
  const askpass = join(dir, `askpass-${randomBytes(4).toString('hex')}`);
  writeFile(askpass, `#!/bin/sh\ntouch '${marker}'\nprintf '%s\\n' '${password}'\n`, 0o700);
  const args = [...sshBaseArgs(port), '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive',
    '-o', 'NumberOfPasswordPrompts=1', `${user}@127.0.0.1`, 'id', '-un'];
  // SSH_ASKPASS_REQUIRE=force: ssh reads the password from the program even without a terminal.
  const r = run(TOOLS.ssh, args, { env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' } });
  return { ...r, asked: existsSync(marker) };
}
