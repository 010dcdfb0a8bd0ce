// the README's runbook for changing users on a running droplet, run as written
// (only the values on its NAME= line are the test's) with the real useradd, userdel, visudo and
// sudo, in a private mount namespace whose /etc/ssh and /etc/sudoers.d are empty tmpfs: the
// machine's own sshd and sudo configuration are never touched. Accounts are real (and removed).
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { renderCloudInit } from '../../lib/cloud-init';
import { TUNNEL_TOKEN } from '../fixtures';
import {
  describeReal, freePort, makeTempDir, NEEDS, newKeyPair, readmeBlocks, removeTempDirs, run, signUserCert, sshBaseArgs,
  STOCK_SSHD_CONFIG, TOOLS, uniqueTag,
} from './helpers';

const block = (title: string) => {
  const found = readmeBlocks('sh').filter((b) => b.startsWith(`# runbook: ${title}\n`));
  expect(found).toHaveLength(1);
  return found[0];
};
/** the block with its NAME= line replaced by the test's values. */
const withValues = (text: string, values: string) => text.replace(/^NAME=.*$/m, values);

// what the test reads back after each step.
const REPORT = `
echo "--- $1"
getent passwd "$NAME" || echo "passwd: none"
getent shadow "$NAME" | cut -d: -f2 | sed 's/^/shadow: /'
if [ -f "/etc/ssh/auth_principals/$NAME" ]; then stat -c 'principals-mode: %a' "/etc/ssh/auth_principals/$NAME"; sed 's/^/principal: /' "/etc/ssh/auth_principals/$NAME"; fi
ls /etc/sudoers.d | sed 's/^/sudoers.d: /'
sed 's/^/first-boot: /' /etc/sudoers.d/90-cloud-init-users
sudo -n -l -U "$NAME" 2>&1 | grep -E 'NOPASSWD|not allowed' | sed 's/^ */sudo: /'
`;

function runInNamespace(script: string): { status: number | null; out: string; err: string } {
  const r = run(TOOLS.unshare, ['--mount', '--propagation', 'private', '/bin/bash', '-c', script], { timeoutMs: 60000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function section(out: string, name: string): string[] {
  const start = out.indexOf(`--- ${name}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = out.slice(start + name.length + 5);
  const end = rest.indexOf('--- ');
  return (end < 0 ? rest : rest.slice(0, end)).split('\n').filter((l) => l !== '');
}

const NEEDED = [NEEDS.root, NEEDS.unshare, NEEDS.useradd, NEEDS.userdel, NEEDS.visudo, NEEDS.sudo, NEEDS.sshd, NEEDS.ssh, NEEDS.sshKeygen];

describeReal('README runbook: users on a running droplet', NEEDED, () => {
  const names: string[] = [];
  afterAll(() => {
    for (const n of names) run(TOOLS.userdel, ['--remove', n]);
    removeTempDirs();
  });

  test.each([['with sudo', 'yes'], ['without sudo', 'no']])('adds a user %s like cloud-init does, then removes every trace', (_label, sudo) => {
    const name = `rb${uniqueTag()}`;
    names.push(name);
    const add = withValues(block('add a user'), `NAME=${name} PRINCIPAL=Jane.Doe EMAIL=jane.doe@example.com SUDO=${sudo}`);
    const remove = withValues(block('remove a user'), `NAME=${name}`);
    const { status, out, err } = runInNamespace([
      'set -e',
      'report() {', REPORT, '}',
      'mount -t tmpfs -o mode=0755 tmpfs /etc/ssh && mkdir -m 0755 /etc/ssh/auth_principals',
      // sudo ignores a world-writable includedir: mode 0755 like the real one.
      'mount -t tmpfs -o mode=0755 tmpfs /etc/sudoers.d',
      // the file cloud-init writes for first-boot sudo users (another one, and with sudo ours too).
      `printf '%s ALL=(ALL) NOPASSWD:ALL\\n' srhea ${sudo === 'yes' ? name : ''} > /etc/sudoers.d/90-cloud-init-users`,
      'chmod 0440 /etc/sudoers.d/90-cloud-init-users',
      `NAME=${name}`,
      `( ${add} )`,
      'report added',
      `( ${remove} )`,
      'report removed',
    ].join('\n'));
    expect({ status, out, err }).toMatchObject({ status: 0 });
    const added = section(out, 'added');
    expect(added).toContainEqual(expect.stringMatching(new RegExp(`^${name}:x:[0-9]+:[0-9]+:jane\\.doe@example\\.com:/home/${name}:/bin/bash$`)));
    // a locked password, as cloud-init's lock_passwd: only certificates open the account.
    expect(added).toContainEqual(expect.stringMatching(/^shadow: !/));
    expect(added.filter((l) => l.startsWith('principal'))).toEqual(['principals-mode: 644', 'principal: Jane.Doe', 'principal: jane.doe']);
    if (sudo === 'yes') {
      expect(added).toContain(`sudoers.d: 91-access-${name}`);
      expect(added).not.toContain(`sudoers.d: 91-access-${name}.new`);
      expect(added).toContainEqual(expect.stringMatching(/^sudo: \(ALL\) NOPASSWD: ALL$/));
    } else {
      expect(added.some((l) => l.startsWith(`sudoers.d: 91-access`))).toBe(false);
      expect(added).toContainEqual(expect.stringMatching(/^sudo: .*not allowed/));
    }
    // removed: no account (so sudo knows no such user), no principals, no sudo line of theirs;
    // other users' lines stay.
    expect(section(out, 'removed')).toEqual(['passwd: none', 'sudoers.d: 90-cloud-init-users', 'first-boot: srhea ALL=(ALL) NOPASSWD:ALL']);
  }, 60000);

  test('a certificate for the new principal logs in over real sshd after "add", and not after "remove"', async () => {
    const name = `rb${uniqueTag()}`;
    names.push(name);
    const dir = makeTempDir('runbook');
    const ca = newKeyPair(dir, 'ca');
    const user = newKeyPair(dir, 'user');
    const host = newKeyPair(dir, 'host');
    const cert = signUserCert(ca, user, 'jane', ['Jane.Doe']);
    // the droplet's own sshd files, from the rendered cloud-config (a first-boot user srhea).
    const config = parse(renderCloudInit({ caPublicKey: ca.publicKeyLine, tunnelToken: TUNNEL_TOKEN, users: ['srhea@cloudflare.com'] }));
    const sshFiles = (config.write_files as { path: string; content: string }[]).filter((f) => f.path.startsWith('/etc/ssh/') && !f.path.includes('auth_principals'));
    expect(sshFiles.map((f) => f.path).sort()).toEqual(['/etc/ssh/ca.pub', expect.stringMatching(/^\/etc\/ssh\/sshd_config\.d\/10-.*\.conf$/)]);
    sshFiles.forEach((f, i) => writeFileSync(join(dir, `file${i}`), f.content));
    const port = await freePort();
    const ssh = [
      TOOLS.ssh, ...sshBaseArgs(port), '-i', user.privateKey, '-o', `CertificateFile=${cert}`,
      '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `${name}@127.0.0.1`, 'id -un',
    ].join(' ');
    const { status, out, err } = runInNamespace([
      'set -e',
      'mkdir -p /run/sshd',
      // sshd's StrictModes refuses a world-writable /etc/ssh: mode 0755 like the real one.
      'mount -t tmpfs -o mode=0755 tmpfs /etc/ssh && mkdir -m 0755 /etc/ssh/auth_principals /etc/ssh/sshd_config.d',
      'mount -t tmpfs -o mode=0755 tmpfs /etc/sudoers.d',
      `cp ${STOCK_SSHD_CONFIG} /etc/ssh/sshd_config`,
      ...sshFiles.map((f, i) => `cp ${join(dir, `file${i}`)} ${f.path}`),
      `${TOOLS.sshd} -D -f /etc/ssh/sshd_config -h ${host.privateKey} -p ${port} -o ListenAddress=127.0.0.1 -o PidFile=none -E ${join(dir, 'sshd.log')} & SSHD_PID=$!`,
      'trap "kill $SSHD_PID" EXIT',
      `for i in $(seq 100); do grep -q "Server listening" ${join(dir, 'sshd.log')} && break; sleep 0.05; done`,
      `echo "--- before"; ${ssh} 2>&1 || echo "login refused"`,
      `( ${withValues(block('add a user'), `NAME=${name} PRINCIPAL=Jane.Doe EMAIL=jane.doe@example.com SUDO=no`)} )`,
      `echo "--- added"; ${ssh} 2>&1 || echo "login refused"`,
      `( ${withValues(block('remove a user'), `NAME=${name}`)} ) 2>/dev/null`,
      `echo "--- removed"; ${ssh} 2>&1 || echo "login refused"`,
    ].join('\n'));
    if (process.env.DEBUG_RUNBOOK) console.log(out, err, readFileSync(join(dir, 'sshd.log'), 'utf8'));
    expect({ status, err }).toMatchObject({ status: 0 });
    const lines = (n: string) => section(out, n).filter((l) => !l.startsWith('Warning: Permanently added'));
    expect(lines('before')).toContain('login refused');
    expect(lines('added')).toEqual([name]);
    expect(lines('removed')).toContain('login refused');
    expect(readFileSync(join(dir, 'sshd.log'), 'utf8')).toMatch(new RegExp(`Accepted publickey for ${name} from 127\\.0\\.0\\.1 .*ED25519-CERT`));
  }, 60000);
});
