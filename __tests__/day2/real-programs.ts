// small wrappers around the real programs the day-2 tests use (cloud-init's Python modules,
// sshd -T), kept here so they do not depend on __tests__/real/helpers.ts while it is reorganised.
import { execFileSync, spawnSync } from 'child_process';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

export const CLOUD_INIT = '/usr/bin/cloud-init';
export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';
export const STOCK_SSHD_CONFIG = existsSync('/usr/share/openssh/sshd_config') ? '/usr/share/openssh/sshd_config' : '/etc/ssh/sshd_config';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** describe, or describe.skip with the reason printed (never under CI) when a program or root is missing. */
export function describeWithPrograms(name: string, programs: string[], fn: () => void, needsRoot = false): void {
  const missing = programs.filter((p) => !executable(p));
  if (needsRoot && process.getuid?.() !== 0) missing.push('root');
  if (missing.length > 0 && process.env.CI === 'true') throw new Error(`${name}: missing ${missing.join(', ')} (cannot be skipped under CI)`);
  if (missing.length > 0) console.warn(`skipping "${name}": missing ${missing.join(', ')} (apt-get install cloud-init openssh-server; run as root)`);
  (missing.length > 0 ? describe.skip : describe)(name, fn);
}

/** the Python cloud-init runs with (its modules are not on a venv's path). */
export function cloudInitPython(): string {
  const m = /^#!\s*(\S+)/.exec(readFileSync(CLOUD_INIT, 'utf8').split('\n', 1)[0]);
  if (!m) throw new Error(`${CLOUD_INIT} has no #! line`);
  return m[1];
}

export function runOk(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 30000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// cloud-init's own user-data processing: MIME parts, then the cloud-config part handler, which
// merges every part with its merge_how into the one config the modules see.
const MERGE_PARTS = `
import sys
from cloudinit import helpers, user_data
from cloudinit.handlers.cloud_config import CloudConfigPartHandler
message = user_data.UserDataProcessor({}).process(open(sys.argv[1], 'rb').read())
paths = helpers.Paths({'cloud_dir': sys.argv[2]})
paths.get_ipath = lambda *a: sys.argv[3]
handler = CloudConfigPartHandler(paths)
handler.handle_part(None, '__begin__', None, None, None, None)
for part in message.walk():
    if part.get_content_maintype() == 'multipart':
        continue
    handler.handle_part(None, part.get_content_type(), part.get_filename(), part.get_payload(decode=True).decode(), 3, dict(part.items()))
handler.handle_part(None, '__end__', None, None, None, None)
`;

/** the cloud-config cloud-init makes of `userData` (a MIME multipart or one #cloud-config). */
export function mergeWithCloudInit(userData: string, dir: string): string {
  const input = join(dir, 'user-data');
  const script = join(dir, 'merge.py');
  const output = join(dir, 'cloud-config.txt');
  writeFileSync(input, userData);
  writeFileSync(script, MERGE_PARTS);
  runOk(cloudInitPython(), [script, input, join(dir, 'cloud'), output]);
  return readFileSync(output, 'utf8');
}

// cloud-init's write_files writer, with every path moved under a root directory of the test's.
const WRITE_FILES = `
import os, sys, yaml
from cloudinit.config import cc_write_files
cfg = yaml.safe_load(open(sys.argv[1]))
files = [dict(f, path=os.path.join(sys.argv[2], f['path'].lstrip('/'))) for f in cfg['write_files']]
cc_write_files.write_files('write_files', files, 'root:root')
`;

export function writeFilesWithCloudInit(cloudConfig: string, dir: string, root: string): void {
  const input = join(dir, 'write-files.yaml');
  const script = join(dir, 'write-files.py');
  writeFileSync(input, cloudConfig);
  writeFileSync(script, WRITE_FILES);
  runOk(cloudInitPython(), [script, input, root]);
}

/** `sshd -T` of Debian's stock sshd_config reading its drop-ins below `root`: keyword → value. */
export function sshdEffective(root: string, dir: string): Map<string, string> {
  const config = join(dir, 'sshd_config');
  const stock = readFileSync(STOCK_SSHD_CONFIG, 'utf8');
  if (!stock.includes('Include /etc/ssh/sshd_config.d/*.conf')) throw new Error(`${STOCK_SSHD_CONFIG} has no drop-in Include`);
  writeFileSync(config, stock.replace('Include /etc/ssh/sshd_config.d/*.conf', `Include ${root}/etc/ssh/sshd_config.d/*.conf`));
  const hostKey = join(dir, 'host_key');
  if (!existsSync(hostKey)) execFileSync(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const map = new Map<string, string>();
  for (const line of runOk(SSHD, ['-T', '-f', config, '-h', hostKey]).split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m && !map.has(m[1])) map.set(m[1], m[2]);
  }
  return map;
}
