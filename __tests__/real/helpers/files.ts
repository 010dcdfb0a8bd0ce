// temporary directories and files, and the test values written to them (keys, tokens, tags).
import { randomBytes } from 'crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { CloudInitOptions, renderCloudInit } from '../../../lib/cloud-init';
import { TOOLS, runOk } from './process';

/** the project's root directory (package.json, README.md, node_modules). */
export const ROOT = join(__dirname, '..', '..', '..');

/** the README's fenced blocks of `lang` (e.g. "ts", "sh"), in order. */
export function readmeBlocks(lang: string): string[] {
  const re = new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm');
  return [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(re)].map((m) => m[1]);
}

const tempDirs: string[] = [];

/**
 * A new directory, removed by {@link removeTempDirs}. With `sshdSafe`, it lives under /run and
 * is 0755: sshd's StrictModes refuses an AuthorizedPrincipalsFile below a group- or
 * world-writable directory such as /tmp, and opens it as the logging-in user.
 */
export function makeTempDir(prefix: string, opts: { sshdSafe?: boolean } = {}): string {
  const base = opts.sshdSafe ? '/run' : tmpdir();
  const dir = mkdtempSync(join(base, `cdktf-access-droplet-${prefix}-`));
  if (opts.sshdSafe) chmodSync(dir, 0o755);
  tempDirs.push(dir);
  return dir;
}

/** Removes the directories {@link makeTempDir} made; KEEP_TEMP_DIRS=1 keeps them to debug a failure. */
export function removeTempDirs(): void {
  if (process.env.KEEP_TEMP_DIRS === '1') {
    console.warn(`KEEP_TEMP_DIRS=1: kept ${tempDirs.splice(0).join(', ')}`);
    return;
  }
  while (tempDirs.length) rmSync(tempDirs.pop()!, { recursive: true, force: true });
}

/** Writes `content` at `path`, creating parent directories, with `mode`. */
export function writeFile(path: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  writeFileSync(path, content, { mode });
  chmodSync(path, mode); // the umask must not change it.
}

// test values

/** A short random suffix that keeps test accounts unique per run and per test file. */
export function uniqueTag(): string {
  return randomBytes(3).toString('hex');
}

/** A stand-in tunnel token shaped like Cloudflare's: base64 of {a: account, t: tunnel, s: secret}. */
export function fakeTunnelToken(): string {
  const secret = randomBytes(32).toString('base64');
  return Buffer.from(JSON.stringify({ a: 'f0e1d2c3b4a5968778695a4b3c2d1e0f', t: '6ff42ae2-765d-4adf-8112-31c55c1551ef', s: secret })).toString('base64');
}

export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
  /** the public key's one line, without the newline. */
  readonly publicKeyLine: string;
}

export function newKeyPair(dir: string, name: string): KeyPair {
  const privateKey = join(dir, name);
  runOk(TOOLS.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', privateKey]);
  const publicKey = `${privateKey}.pub`;
  return { privateKey, publicKey, publicKeyLine: readFileSync(publicKey, 'utf8').trim() };
}

/**
 * Signs a copy of `key`'s public key with `ca` as a user certificate; returns the certificate's
 * path. `validity` is ssh-keygen's -V, e.g. "-5m:+5m" or "20200101:20200102".
 */
export function signUserCert(ca: KeyPair, key: KeyPair, name: string, principals: string[], validity = '-5m:+5m'): string {
  const pub = join(dirname(key.publicKey), `${name}.pub`);
  copyFileSync(key.publicKey, pub);
  runOk(TOOLS.sshKeygen, ['-q', '-s', ca.privateKey, '-I', name, '-n', principals.join(','), '-V', validity, pub]);
  return join(dirname(key.publicKey), `${name}-cert.pub`);
}

/** Options with literal values for everything, plus `overrides` (users are not among them: they travel in the tags). */
export function options(ca: KeyPair, tunnelToken: string, overrides: Partial<CloudInitOptions> = {}): CloudInitOptions {
  return { caPublicKey: ca.publicKeyLine, tunnelToken, ...overrides };
}

export { renderCloudInit };
