// each Access user becomes a Unix account the way a droplet makes it now: the construct's users
// become account tags (renderAccountTags), and the accounts agent that cloud-init's write_files
// installs from the rendered user_data reads them from a stand-in metadata service and creates
// the accounts: locked password, bash, the email as comment, sudo only when asked for, groups as
// asked. Names that are not portable Unix names never make a tag. It runs in private mount and
// PID namespaces (helpers/host.ts): the machine's accounts are never touched.
import { decodeAccountTags } from '../../lib/account-tags';
import { renderAccountTags, renderCloudInit } from '../../lib/cloud-init';
import { AccessUserInput, UNIX_NAME_PATTERN, UnixNameStyle } from '../../lib/users';
import {
  AGENT_STATE, describeReal, fakeTunnelToken, HostNamespace, makeTempDir, NEEDS, NEEDS_HOST, newKeyPair, options, removeTempDirs,
  RunResult, runInstalledAgent, startHostNamespace, stopHostNamespaces, TagServer, TOOLS, uniqueTag, writeFilesInNamespace,
} from './helpers';

describeReal('users as the accounts agent creates them from the tags', [...NEEDS_HOST, NEEDS.cloudInitModules], () => {
  const tag = uniqueTag();
  // unique per run, so a failure can never be mistaken for another run's account.
  const plain = `srhea-${tag}`;
  const mapped = `jdoe-${tag}`;
  const grouped = `ops-${tag}`;
  const fromMap = `mary-${tag}`;
  // a group the image lacks: the agent creates it.
  const newGroup = `cdktf-${tag}`;
  const users: AccessUserInput[] = [
    `${plain}@cloudflare.com`,
    { email: `jane.doe-${tag}@example.com`, unixName: mapped, sudo: true, groups: ['adm'] },
    { email: `${grouped}@example.org`, sudo: false, groups: ['adm', newGroup] },
    `Mary.Ann-${tag}@example.net`,
  ];
  const emails = [`${plain}@cloudflare.com`, `jane.doe-${tag}@example.com`, `${grouped}@example.org`, `Mary.Ann-${tag}@example.net`];
  const names = [plain, mapped, grouped, fromMap];

  let dir: string;
  let ns: HostNamespace;
  let server: TagServer;
  let agent: RunResult;

  const passwdOf = (name: string) => ns.read('/etc/passwd')!.split('\n').find((l) => l.startsWith(`${name}:`));
  const shadowOf = (name: string) => ns.read('/etc/shadow')!.split('\n').find((l) => l.startsWith(`${name}:`));
  const groupLine = (name: string) => ns.read('/etc/group')!.split('\n').find((l) => l.startsWith(`${name}:`));

  beforeAll(async () => {
    dir = makeTempDir('users');
    ns = await startHostNamespace(dir);
    writeFilesInNamespace(ns, renderCloudInit(options(newKeyPair(dir, 'access-ca'), fakeTunnelToken())), dir);
    server = new TagServer();
    const url = await server.listen();
    server.tags = renderAccountTags({ users, unixNames: { [`Mary.Ann-${tag}@example.net`]: fromMap } });
    agent = await runInstalledAgent(ns, url);
  });

  afterAll(async () => {
    stopHostNamespaces();
    await server?.close();
    removeTempDirs();
  });

  test('the agent applied the tags without an error, and records every account as its own', () => {
    expect(agent.stderr).not.toMatch(/skipped|error|failed|refused/i);
    expect(agent.status).toBe(0);
    const state = JSON.parse(ns.read(AGENT_STATE)!) as { accounts: Record<string, unknown>; groups: Record<string, unknown> };
    expect(Object.keys(state.accounts).sort()).toEqual([...names].sort());
    expect(Object.keys(state.groups)).toEqual([newGroup]);
  });

  test('every account exists with bash, a home and the email as its comment', () => {
    names.forEach((name, i) => {
      const [login, , uid, , gecos, home, shell] = passwdOf(name)!.split(':');
      expect({ login, gecos, home, shell }).toEqual({ login: name, gecos: emails[i], home: `/home/${name}`, shell: '/bin/bash' });
      expect(Number(uid)).toBeGreaterThanOrEqual(1000);
      expect(UNIX_NAME_PATTERN.test(name)).toBe(true);
      expect(ns.run('/usr/bin/stat', ['-c', '%U %F', `/home/${name}`]).stdout.trim()).toBe(`${name} directory`);
    });
  });

  test('every password is locked: only certificates open the accounts', () => {
    for (const name of names) {
      const hash = shadowOf(name)!.split(':')[1];
      expect([name, hash.startsWith('!')]).toEqual([name, true]);
      expect(ns.run(TOOLS.passwd, ['-S', name]).stdout.split(' ')[1]).toBe('L');
    }
  });

  test('groups: as asked, a missing team group created by the agent', () => {
    const groupsOf = (name: string) => ns.run(TOOLS.id, ['-nG', name]).stdout.trim().split(' ').sort();
    expect(groupsOf(plain)).toEqual([plain]);
    expect(groupsOf(mapped)).toEqual(['adm', mapped].sort());
    expect(groupsOf(grouped)).toEqual(['adm', grouped, newGroup].sort());
    expect(groupsOf(fromMap)).toEqual([fromMap]);
    expect(Number(groupLine(newGroup)!.split(':')[2])).toBeGreaterThanOrEqual(1000);
  });

  test('sudo: one valid rule, for the user who asked only', () => {
    const sudoers = ns.read('/etc/sudoers.d/90-cdktf-access')!;
    const rules = sudoers.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual([`${mapped} ALL=(ALL) NOPASSWD:ALL`]);
    expect(ns.run(TOOLS.visudo, ['-c', '-f', '/etc/sudoers.d/90-cdktf-access'])).toMatchObject({ status: 0 });
    expect(ns.run(TOOLS.sudo, ['-n', '-l', '-U', mapped]).stdout).toMatch(/\(ALL\) NOPASSWD: ALL/);
    for (const name of [plain, grouped, fromMap]) expect(ns.run(TOOLS.sudo, ['-n', '-l', '-U', name]).stdout).toMatch(/is not allowed to run sudo/);
  });

  test('principals: each account lists its own local part, in both spellings when they differ', () => {
    expect(ns.read(`/etc/ssh/auth_principals/${plain}`)).toBe(`${plain}\n`);
    expect(ns.read(`/etc/ssh/auth_principals/${mapped}`)).toBe(`jane.doe-${tag}\n`);
    expect(ns.read(`/etc/ssh/auth_principals/${fromMap}`)).toBe(`Mary.Ann-${tag}\nmary.ann-${tag}\n`);
  });
});

describe('unix names in the tags', () => {
  // pure checks, no root needed: they run everywhere.
  const namesOf = (users: AccessUserInput[], style?: UnixNameStyle) => {
    const decoded = decodeAccountTags(renderAccountTags({ users, unixNameStyle: style }));
    if ('error' in decoded) throw new Error(decoded.error);
    return decoded.accounts.map((a) => a.name);
  };

  test('a default Unix name is the email local part', () => {
    const names = namesOf(['srhea@cloudflare.com', 'ops_team-2@example.org']);
    expect(names.sort()).toEqual(['ops_team-2', 'srhea']);
    for (const n of names) expect(n).toMatch(UNIX_NAME_PATTERN);
  });

  test('unixNameStyle normalized makes a portable name of any local part', () => {
    expect(namesOf(['Jane.Doe+ci@example.com'], UnixNameStyle.NORMALIZED)).toEqual(['jane_doe']);
  });

  // Debian's useradd accepts several of these (j.doe, jdoe+x, o'brien): the tags must not.
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
    expect(() => renderAccountTags({ users: [email] })).toThrow(message);
  });

  test.each([
    ['an invalid unixName', [{ email: 'jane.doe@example.com', unixName: 'Jane' }], /unix name "Jane" is not a valid Unix user name/],
    ['a reserved unixName', [{ email: 'admin@example.com', unixName: 'ubuntu' }], /reserved for the system/],
    ['two users on one account', ['jdoe@example.com', { email: 'jane.doe@example.com', unixName: 'jdoe' }], /already used by jdoe@example.com/],
    ['an invalid group', [{ email: 'srhea@cloudflare.com', groups: ['wheel users'] }], /not a valid group name/],
    ['a system group without sudo', [{ email: 'srhea@cloudflare.com', groups: ['cdrom'] }], /"cdrom" .*set sudo: true/],
    ['no users', [], /users is empty/],
    ['a non-email', ['srhea'], /is not an email address/],
  ])('fails for %s', (_, users, message) => {
    expect(() => renderAccountTags({ users: users as AccessUserInput[] })).toThrow(message);
  });

  test('a 32-character name is the longest accepted', () => {
    expect(namesOf([`${'a'.repeat(32)}@example.com`])[0]).toHaveLength(32);
  });
});
