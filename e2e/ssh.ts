import { ChildProcess, spawn } from 'child_process';
import { promises as fs } from 'fs';
import { join } from 'path';
import { log, run, RunResult, sleep } from './util';

/** How a client authenticates in one attempt. */
export type Credential =
  | { readonly kind: 'cert'; readonly cert: string }
  | { readonly kind: 'key' }
  | { readonly kind: 'password'; readonly password: string };

export interface CertOptions {
  readonly principal: string;
  /** the CA's private key path; the Access CA when omitted. */
  readonly ca?: string;
  /** ssh-keygen -V; Access issues certificates valid for minutes. */
  readonly validity?: string;
}

/**
 * The client side of the test: an Access-like CA, an unrelated CA, one user key pair, and the
 * certificates signed for it, all in a throwaway directory.
 */
export class SshClient {
  private constructor(
    readonly dir: string,
    /** the Access short-lived certificate CA (its public key goes into the cloud-config). */
    readonly ca: string,
    readonly otherCa: string,
    /** the user's key; certificates live in other files so ssh never picks one up by itself. */
    readonly key: string,
  ) {}

  static async create(dir: string): Promise<SshClient> {
    const keygen = (path: string, comment: string) =>
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
    const c = new SshClient(dir, join(dir, 'access-ca'), join(dir, 'other-ca'), join(dir, 'id_user'));
    await Promise.all([
      keygen(c.ca, 'e2e-access-ca'),
      keygen(c.otherCa, 'e2e-other-ca'),
      keygen(c.key, 'e2e-user'),
    ]);
    return c;
  }

  async caPublicKey(): Promise<string> {
    return (await fs.readFile(`${this.ca}.pub`, 'utf8')).trim();
  }

  /** Signs the user key for `principal`, like Access does for the email's local part. */
  async cert(name: string, options: CertOptions): Promise<Credential> {
    const base = join(this.dir, `cert-${name}`);
    await fs.copyFile(`${this.key}.pub`, `${base}.pub`);
    await run('ssh-keygen', [
      '-q', '-s', options.ca ?? this.ca, '-I', `e2e-${name}`, '-n', options.principal,
      // Access issues certificates for minutes; the run, on a loaded machine, can take longer.
      '-V', options.validity ?? '-5m:+3h', `${base}.pub`,
    ]);
    return { kind: 'cert', cert: `${base}-cert.pub` };
  }

  /**
   * One ssh attempt to 127.0.0.1:`port` as `user`; never throws for a refused login, so the
   * caller can tell "refused" (exit 255, "Permission denied") from "ran". With `stdioForward`
   * (`HOST:PORT`) it runs no command but asks the server to forward stdin/stdout there.
   */
  async ssh(port: number, user: string, credential: Credential, command: string,
    options: { input?: string; timeoutMs?: number; stdioForward?: string; penaltyWaitMs?: number; shared?: boolean } = {}): Promise<RunResult> {
    // OpenSSH 9.8 and later (Debian 13) shut out, for a while, a source address whose logins
    // failed (PerSourcePenalties); every connection here comes from QEMU's one address, as every
    // connection through cloudflared comes from 127.0.0.1. Wait such a penalty out, and say so.
    const until = Date.now() + (options.penaltyWaitMs ?? 180_000);
    for (;;) {
      const r = await this.attempt(port, user, credential, command, options);
      if (!penalized(r) || Date.now() > until) return r;
      if (this.penalties++ === 0 || Date.now() + 5000 > until) {
        log(`note: sshd closed the connection before the key exchange (PerSourcePenalties); retrying every 5 s`);
      }
      await sleep(5000);
    }
  }

  /** How often a connection was shut out before the key exchange and retried. */
  penalties = 0;

  private readonly masters = new Map<string, ChildProcess>();

  /**
   * Opens one login as `user` that later {@link ssh} calls with `{ shared: true }` run their
   * commands in (OpenSSH connection sharing): one key exchange and one PAM session instead of
   * one per command, which under TCG is most of a check's time. The commands still run in that
   * user's login session, as separate channels.
   */
  async share(port: number, user: string, credential: Credential & { kind: 'cert' }): Promise<void> {
    const path = this.controlPath(port, user);
    if (this.masters.has(path)) return;
    const args = [...this.baseArgs(port), '-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey', '-i', this.key,
      '-o', `CertificateFile=${credential.cert}`, '-o', 'ControlMaster=yes', '-o', `ControlPath=${path}`, '-N', `${user}@127.0.0.1`];
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SSH_AUTH_SOCK;
    const master = spawn('ssh', args, { env, stdio: 'ignore' });
    this.masters.set(path, master);
    master.on('exit', () => this.masters.delete(path));
    for (let i = 0; i < 240; i++) {
      const check = await run('ssh', ['-o', `ControlPath=${path}`, '-O', 'check', `${user}@127.0.0.1`], { allowFail: true });
      if (check.code === 0) return;
      if (master.exitCode !== null || master.signalCode !== null) break;
      await sleep(500);
    }
    master.kill('SIGKILL');
    throw new Error(`could not open a shared login as ${user}`);
  }

  /** Ends the shared logins. */
  close(): void {
    for (const master of this.masters.values()) master.kill('SIGKILL');
    this.masters.clear();
  }

  private controlPath(port: number, user: string): string {
    return join(this.dir, `cm-${user}-${port}`);
  }

  private baseArgs(port: number): string[] {
    return [
      '-F', '/dev/null', '-p', String(port),
      '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
      '-o', 'ConnectTimeout=30', '-o', 'ServerAliveInterval=15', '-o', 'IdentityAgent=none',
      '-o', 'IdentitiesOnly=yes',
    ];
  }

  private async attempt(port: number, user: string, credential: Credential, command: string,
    options: { input?: string; timeoutMs?: number; stdioForward?: string; shared?: boolean }): Promise<RunResult> {
    const args = this.baseArgs(port);
    if (options.shared) {
      const path = this.controlPath(port, user);
      if (!this.masters.has(path)) throw new Error(`no shared login as ${user}: call share() first`);
      args.push('-o', 'ControlMaster=no', '-o', `ControlPath=${path}`);
    }
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SSH_AUTH_SOCK;
    if (credential.kind === 'password') {
      // ssh reads passwords only from a terminal or SSH_ASKPASS; the script also records that it
      // was asked at all, which it must not be when the server offers no password method.
      const askpass = join(this.dir, 'askpass');
      await fs.writeFile(askpass, `#!/bin/sh\necho asked >> '${askpass}.log'\nprintf '%s\\n' '${credential.password}'\n`, { mode: 0o700 });
      env.SSH_ASKPASS = askpass;
      env.SSH_ASKPASS_REQUIRE = 'force';
      env.DISPLAY = env.DISPLAY ?? ':0';
      args.push('-o', 'BatchMode=no', '-o', 'PubkeyAuthentication=no',
        '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'NumberOfPasswordPrompts=1');
    } else {
      args.push('-o', 'BatchMode=yes', '-o', 'PreferredAuthentications=publickey', '-i', this.key);
      if (credential.kind === 'cert') args.push('-o', `CertificateFile=${credential.cert}`);
    }
    if (options.stdioForward) {
      // ssh -W HOST:PORT: stdin and stdout joined to a TCP connection the server opens.
      args.push('-W', options.stdioForward, `${user}@127.0.0.1`);
    } else {
      args.push(`${user}@127.0.0.1`, '--', command);
    }
    return run('ssh', args, { env, input: options.input, timeoutMs: options.timeoutMs ?? 120_000, allowFail: true });
  }

  /** Whether the askpass helper of a password attempt was ever called. */
  async askpassCalls(): Promise<number> {
    try {
      return (await fs.readFile(join(this.dir, 'askpass.log'), 'utf8')).split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  }
}

/** True when sshd closed the connection before the key exchange, as a per-source penalty does. */
export function penalized(r: RunResult): boolean {
  return r.code === 255 && /kex_exchange_identification: (Connection closed by remote host|read: Connection reset)/.test(r.stderr);
}

/** True when `r` is sshd turning the login down (as opposed to a network or protocol error). */
export function wasRefused(r: RunResult): boolean {
  return r.code === 255 && /Permission denied \(/.test(r.stderr);
}

/** The methods the server still offered when it refused, e.g. "publickey". */
export function offeredMethods(r: RunResult): string | undefined {
  return /Permission denied \(([^)]*)\)/.exec(r.stderr)?.[1];
}
