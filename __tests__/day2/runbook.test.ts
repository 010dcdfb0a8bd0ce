// issue 11 item 5: the README's runbook for changing users on a running droplet, run as written
// (only the values on its NAME= line are the test's) with the real useradd, userdel, visudo and
// sudo, in a private mount namespace whose /etc/ssh and /etc/sudoers.d are empty tmpfs: the
// machine's own sshd and sudo configuration are never touched. Accounts are real (and removed).
import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { describeWithPrograms } from './real-programs';
import { ROOT } from './terraform-project';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const shBlocks = [...README.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
const block = (title: string) => {
  const found = shBlocks.filter((b) => b.startsWith(`# runbook: ${title}\n`));
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
  const r = spawnSync('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/bash', '-c', script], { encoding: 'utf8', timeout: 60000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

function section(out: string, name: string): string[] {
  const start = out.indexOf(`--- ${name}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = out.slice(start + name.length + 5);
  const end = rest.indexOf('--- ');
  return (end < 0 ? rest : rest.slice(0, end)).split('\n').filter((l) => l !== '');
}

describeWithPrograms('README runbook: users on a running droplet', ['/usr/bin/unshare', '/usr/sbin/useradd', '/usr/sbin/userdel', '/usr/sbin/visudo', '/usr/bin/sudo'], () => {
  const names: string[] = [];
  afterAll(() => {
    for (const n of names) spawnSync('/usr/sbin/userdel', ['--remove', n], { encoding: 'utf8' });
  });

  test.each([['with sudo', 'yes'], ['without sudo', 'no']])('adds a user %s like cloud-init does, then removes every trace', (_label, sudo) => {
    const name = `rb${randomBytes(4).toString('hex')}`;
    names.push(name);
    const add = withValues(block('add a user'), `NAME=${name} PRINCIPAL=Jane.Doe EMAIL=jane.doe@example.com SUDO=${sudo}`);
    const remove = withValues(block('remove a user'), `NAME=${name}`);
    const { status, out, err } = runInNamespace([
      'set -e',
      'report() {', REPORT, '}',
      'mount -t tmpfs tmpfs /etc/ssh && mkdir -m 0755 /etc/ssh/auth_principals',
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
}, true);
