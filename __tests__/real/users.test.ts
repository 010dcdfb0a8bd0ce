// each Access user becomes a Unix account as cloud-init creates it at first boot: locked
// password, bash, sudo only when asked for; names that are not portable Unix names never render.
import { readFileSync } from 'fs';
import { renderCloudInit as render } from '../../lib/cloud-init';
import { AccessUserInput, UNIX_NAME_PATTERN } from '../../lib/users';
import {
  CreatedAccounts, createUsersWithCloudInit, describeReal, fakeTunnelToken, KeyPair, makeTempDir, NEEDS, newKeyPair,
  options, parseCloudConfig, removeCreatedAccounts, removeTempDirs, run, runOk, TOOLS, uniqueTag,
} from './helpers';

describeReal('users as cloud-init creates them', [NEEDS.root, NEEDS.cloudInitModules, NEEDS.useradd, NEEDS.sshKeygen, NEEDS.visudo], () => {
  const tag = uniqueTag();
  // unique per run, so they never clash with real accounts or a parallel test file.
  const plain = `srhea-${tag}`;
  const mapped = `jdoe-${tag}`;
  const grouped = `ops-${tag}`;
  // a group the image lacks: cloud-init creates it (and the test removes it).
  const newGroup = `cdktf-${tag}`;
  const users: AccessUserInput[] = [
    `${plain}@cloudflare.com`,
    { email: `jane.doe-${tag}@example.com`, unixName: mapped, sudo: true, groups: ['adm'] },
    { email: `${grouped}@example.org`, sudo: false, groups: ['adm', newGroup] },
  ];

  let dir: string;
  let text: string;
  let created: CreatedAccounts;

  beforeAll(() => {
    dir = makeTempDir('users');
    const ca: KeyPair = newKeyPair(dir, 'access-ca');
    text = render(options(ca, fakeTunnelToken(), { users }));
    created = createUsersWithCloudInit(text, dir);
  });

  afterAll(async () => {
    try {
      await removeCreatedAccounts();
    } finally {
      removeTempDirs();
    }
  });

  test('the rendered users entries: bash, locked, sudo only when asked', () => {
    expect(parseCloudConfig(text).users).toEqual([
      { name: plain, gecos: `${plain}@cloudflare.com`, shell: '/bin/bash', lock_passwd: true },
      { name: mapped, gecos: `jane.doe-${tag}@example.com`, shell: '/bin/bash', lock_passwd: true, groups: 'adm', sudo: 'ALL=(ALL) NOPASSWD:ALL' },
      { name: grouped, gecos: `${grouped}@example.org`, shell: '/bin/bash', lock_passwd: true, groups: `adm,${newGroup}` },
    ]);
  });

  test('every account exists with bash, a home and the email as its comment', () => {
    const emails = [`${plain}@cloudflare.com`, `jane.doe-${tag}@example.com`, `${grouped}@example.org`];
    [plain, mapped, grouped].forEach((name, i) => {
      const [login, , , , gecos, home, shell] = runOk(TOOLS.getent, ['passwd', name]).stdout.trim().split(':');
      expect({ login, gecos, home, shell }).toEqual({ login: name, gecos: emails[i], home: `/home/${name}`, shell: '/bin/bash' });
      expect(UNIX_NAME_PATTERN.test(name)).toBe(true);
    });
  });

  test('every password is locked', () => {
    for (const name of [plain, mapped, grouped]) {
      const hash = runOk(TOOLS.getent, ['shadow', name]).stdout.split(':')[1];
      expect([name, hash.startsWith('!')]).toEqual([name, true]);
      expect(runOk(TOOLS.passwd, ['-S', name]).stdout.split(' ')[1]).toBe('L');
    }
  });

  test('groups: as asked, missing ones created', () => {
    const groupsOf = (name: string) => runOk(TOOLS.id, ['-nG', name]).stdout.trim().split(' ').sort();
    expect(groupsOf(plain)).toEqual([plain]);
    expect(groupsOf(mapped)).toEqual(['adm', mapped].sort());
    expect(groupsOf(grouped)).toEqual(['adm', grouped, newGroup].sort());
    expect(created.groups).toEqual([newGroup]);
  });

  test('sudo: one valid rule, for the user who asked only', () => {
    const sudoers = readFileSync(created.sudoersFile, 'utf8');
    const rules = sudoers.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual([`${mapped} ALL=(ALL) NOPASSWD:ALL`]);
    expect(run(TOOLS.visudo, ['-c', '-f', created.sudoersFile])).toMatchObject({ status: 0 });
  });
});

describe('unix names', () => {
  // pure checks, no root needed: they run everywhere.
  const ca = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOcaAKSSGBGIpHCzKOvUoV1iejbtxsToW0U8sLgGvtQ8 test-ca';
  const token = Buffer.from('{"a":"acct","t":"tunnel","s":"secret"}').toString('base64');
  const renderUsers = (users: AccessUserInput[]) => render({ caPublicKey: ca, tunnelToken: token, users });

  test('a default Unix name is the email local part', () => {
    const cfg = parseCloudConfig(renderUsers(['srhea@cloudflare.com', 'ops_team-2@example.org']));
    expect(cfg.users.map((u) => u.name)).toEqual(['srhea', 'ops_team-2']);
    for (const u of cfg.users) expect(u.name).toMatch(UNIX_NAME_PATTERN);
  });

  // Debian's useradd accepts several of these (j.doe, jdoe+x, o'brien): the renderer must not.
  test.each([
    ['a dot in the local part', 'jane.doe@example.com', /not a valid Unix user name.*unixName/],
    ['a plus in the local part', 'jdoe+x@example.com', /not a valid Unix user name/],
    ['an apostrophe in the local part', "o'brien@example.com", /not a valid Unix user name/],
    ['an upper-case local part', 'SRhea@cloudflare.com', /not a valid Unix user name/],
    ['a local part starting with a digit', '1srhea@cloudflare.com', /not a valid Unix user name/],
    ['a 33-character local part', `${'a'.repeat(33)}@example.com`, /not a valid Unix user name/],
    ['root as the local part', 'root@example.com', /reserved for the system/],
    ['a systemd- local part', 'systemd-network@example.com', /reserved for the system/],
  ])('fails for %s', (_, email, message) => {
    expect(() => renderUsers([email])).toThrow(message);
  });

  test.each([
    ['an invalid unixName', [{ email: 'jane.doe@example.com', unixName: 'Jane' }], /unix name "Jane" is not a valid Unix user name/],
    ['a reserved unixName', [{ email: 'admin@example.com', unixName: 'ubuntu' }], /reserved for the system/],
    ['two users on one account', ['jdoe@example.com', { email: 'jane.doe@example.com', unixName: 'jdoe' }], /already used by jdoe@example.com/],
    ['an invalid group', [{ email: 'srhea@cloudflare.com', groups: ['wheel users'] }], /not a valid group name/],
    ['no users', [], /users is empty/],
    ['a non-email', ['srhea'], /is not an email address/],
  ])('fails for %s', (_, users, message) => {
    expect(() => renderUsers(users as AccessUserInput[])).toThrow(message);
  });

  test('a 32-character name is the longest accepted', () => {
    expect(parseCloudConfig(renderUsers([`${'a'.repeat(32)}@example.com`])).users[0].name).toHaveLength(32);
  });
});
