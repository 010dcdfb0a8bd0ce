// the host agent (cloud-init/accounts) applies the account tags with the real useradd, usermod,
// groupadd, visudo, sudo and sshd, as root, at its real paths: inside private mount and PID
// namespaces (helpers/host.ts) whose /etc is a tmpfs copy of this machine's, whose /home is an
// empty tmpfs and whose /var/lib, /var/log and /usr/local are overlays on tmpfs (so
// /var/lib/cdktf-access-droplet, lastlog and the linger directory are the namespace's own). The machine's accounts and processes are never
// touched: the agent only sees, and can only kill, the namespace's processes. Tags come from an
// HTTP server of the test's on 127.0.0.1, logins from certificates signed here (ssh-keygen -s).
import { ChildProcess, spawn } from 'child_process';
import { readFileSync, statSync } from 'fs';
import { join } from 'path';
import { AccountRecord, encodeAccountTags } from '../../lib/account-tags';
import { brokenDocuments, prng, randomAccounts, tagCases, tagsForDocument } from '../account-tags-fixtures';
import {
  describeReal, freePort, HostNamespace, KeyPair, makeTempDir, NEEDS, NEEDS_HOST, newKeyPair, PYTHON, removeTempDirs, ROOT, run,
  signUserCert, sleep, sshBaseArgs, sshWithCert, startHostNamespace, stopHostNamespaces, TagServer, TOOLS, uniqueTag, waitFor, writeFile,
} from './helpers';

const AGENT = join(ROOT, 'cloud-init', 'accounts');
const SSHD_DROP_IN = join(ROOT, 'cloud-init', 'sshd-access.conf');
const UNIT = join(ROOT, 'cloud-init', 'cdktf-access-accounts.service');
const TIMER = join(ROOT, 'cloud-init', 'cdktf-access-accounts.timer');
const INSTALLED = '/usr/local/lib/cdktf-access-droplet/accounts';
const SAFE_GROUPS = ['users', 'www-data', 'adm', 'systemd-journal'];

/** everything the agent may change, as the namespace sees it. */
interface Snapshot {
  readonly passwd: string;
  readonly group: string;
  readonly shadow: string;
  readonly gshadow: string;
  readonly principals: Record<string, string>;
  readonly sudoers: Record<string, string>;
  readonly home: string[];
}

function line(file: string, name: string): string | undefined {
  return file.split('\n').find((l) => l.split(':')[0] === name);
}

describeReal('the accounts agent on real accounts, sudo and sshd', NEEDS_HOST, () => {
  const tag = uniqueTag();
  const name = (n: string) => `${n}-${tag}`;
  const alice = name('alice');
  const bob = name('bob');
  const carol = name('carol');
  const pre = name('pre');
  const team = name('team');
  const acct = (n: string, o: Partial<AccountRecord> = {}): AccountRecord => ({
    name: n, email: `${n}@example.com`, principals: [`P.${n}`, `p.${n}`], sudo: false, groups: [], ...o,
  });

  let dir: string;
  let ns: HostNamespace;
  let server: TagServer;
  let url: string;
  let ca: KeyPair;
  let key: KeyPair;
  let sshdPort: number;
  let sshdLog: string;
  let sshdLogOffset = 0;
  const sessions: ChildProcess[] = [];

  const setTags = (accounts: AccountRecord[]) => (server.tags = ['web', 'env:test', ...encodeAccountTags(accounts)]);
  const agent = (args: string[] = ['--once', '--metadata-url', url], timeoutMs = 60000) => ns.runAsync(PYTHON, [AGENT, ...args], timeoutMs);
  const cert = (principal: string) => signUserCert(ca, key, `${principal}-${uniqueTag()}`, [principal]);
  const login = (user: string, principal: string) => sshWithCert(sshdPort, user, key, cert(principal));
  const newSshdLog = () => {
    const all = readFileSync(sshdLog, 'utf8');
    const fresh = all.slice(sshdLogOffset);
    sshdLogOffset = all.length;
    return fresh;
  };
  const sshArgs = (user: string, principal: string) => [...sshBaseArgs(sshdPort), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
    '-i', key.privateKey, '-o', `CertificateFile=${cert(principal)}`, `${user}@127.0.0.1`];
  const sudoInSession = (user: string) => run(TOOLS.ssh, [...sshArgs(user, `P.${user}`), 'sudo -n true && echo root-ok']);

  /** an ssh session that runs `command` after printing "ready", open until it is killed. */
  async function openSession(user: string, command: string): Promise<{ child: ChildProcess; exited: () => boolean; output: () => string }> {
    const child = spawn(TOOLS.ssh, [...sshArgs(user, `P.${user}`), `echo ready; ${command}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    sessions.push(child);
    let out = '';
    let exited = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('exit', () => (exited = true));
    for (let i = 0; i < 200 && !out.includes('ready') && !exited; i++) await sleep(50);
    if (!out.includes('ready')) throw new Error(`the session of ${user} did not open: ${out}`);
    return { child, exited: () => exited, output: () => out };
  }

  function snapshot(): Snapshot {
    const files = (d: string) => Object.fromEntries(ns.list(d).map((f) => {
      const st = statSync(`/proc/${ns.pid}/root${d}/${f}`);
      return [f, `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${ns.read(`${d}/${f}`)}`];
    }));
    return {
      passwd: ns.read('/etc/passwd')!, group: ns.read('/etc/group')!, shadow: ns.read('/etc/shadow')!, gshadow: ns.read('/etc/gshadow')!,
      principals: files('/etc/ssh/auth_principals'), sudoers: files('/etc/sudoers.d'), home: ns.list('/home'),
    };
  }

  const passwdOf = (n: string) => line(ns.read('/etc/passwd')!, n);
  const shadowOf = (n: string) => line(ns.read('/etc/shadow')!, n)?.split(':');
  const groupsOf = (n: string) => ns.read('/etc/group')!.split('\n').filter((l) => l && l.split(':')[3].split(',').includes(n)).map((l) => l.split(':')[0]).sort();
  const principalsOf = (n: string) => ns.read(`/etc/ssh/auth_principals/${n}`);
  const sudoRules = () => (ns.read('/etc/sudoers.d/90-cdktf-access') ?? '').split('\n').filter((l) => l && !l.startsWith('#'));
  const state = () => JSON.parse(ns.read('/var/lib/cdktf-access-droplet/accounts.json')!) as { accounts: Record<string, { id: number; sudo: boolean }>; groups: Record<string, { id: number }> };

  beforeAll(async () => {
    dir = makeTempDir('accounts');
    ca = newKeyPair(dir, 'ca');
    key = newKeyPair(dir, 'user');
    const host = newKeyPair(dir, 'host');
    ns = await startHostNamespace(dir, `cp ${SSHD_DROP_IN} /etc/ssh/sshd_config.d/10-cloudflare-access.conf\ncp ${ca.publicKey} /etc/ssh/ca.pub`);
    server = new TagServer();
    url = await server.listen();
    sshdPort = await freePort();
    sshdLog = join(dir, 'sshd.log');
    writeFile(sshdLog, '');
    ns.spawn(TOOLS.sshd, ['-D', '-f', '/etc/ssh/sshd_config', '-h', host.privateKey, '-p', String(sshdPort), '-E', sshdLog,
      '-o', 'ListenAddress=127.0.0.1', '-o', 'PidFile=none', '-o', 'LogLevel=VERBOSE']);
    if (!await waitFor(() => readFileSync(sshdLog, 'utf8').includes(`Server listening on 127.0.0.1 port ${sshdPort}.`))) {
      throw new Error(`sshd did not start: ${readFileSync(sshdLog, 'utf8')}`);
    }
    // an account the agent did not create, made before it ever runs.
    expect(ns.run(TOOLS.useradd, ['--create-home', '--shell', '/bin/sh', '--comment', 'made by hand', pre]).status).toBe(0);
  });

  afterAll(async () => {
    for (const s of sessions) s.kill('SIGKILL');
    stopHostNamespaces();
    await server?.close();
    removeTempDirs();
  });

  test('the namespace is a copy: the machine has none of the test\'s accounts', () => {
    expect(passwdOf(pre)).toMatch(new RegExp(`^${pre}:x:\\d+:\\d+:made by hand:/home/${pre}:/bin/sh$`));
    expect(line(readFileSync('/etc/passwd', 'utf8'), pre)).toBeUndefined();
    // the namespace's processes only: init, and what the test started.
    expect(ns.list('/proc').filter((p) => /^\d+$/.test(p)).length).toBeLessThan(20);
  });

  test('a listed user is created, and logs in with a certificate for its principal and not with another\'s', async () => {
    setTags([acct(alice, { sudo: true, groups: ['www-data'] }), acct(pre, { sudo: true })]);
    const r = await agent();
    expect(r.stderr).toContain(`cdktf-access-accounts: created account ${alice} (${alice}@example.com, uid `);
    expect(r.stderr).toContain(`cdktf-access-accounts: account ${pre} exists and was not created by this agent: left alone`);
    expect(r.status).toBe(0);
    expect(passwdOf(alice)).toMatch(new RegExp(`^${alice}:x:\\d+:\\d+:${alice}@example\\.com:/home/${alice}:/bin/bash$`));
    // a locked password: only certificates open the account.
    expect(shadowOf(alice)![1]).toMatch(/^!/);
    expect(principalsOf(alice)).toBe(`P.${alice}\np.${alice}\n`);
    expect(statSync(`/proc/${ns.pid}/root/etc/ssh/auth_principals/${alice}`).mode & 0o7777).toBe(0o644);
    expect(statSync(`/proc/${ns.pid}/root/etc/ssh/auth_principals`).mode & 0o7777).toBe(0o755);
    expect(statSync(`/proc/${ns.pid}/root/var/lib/cdktf-access-droplet`).mode & 0o7777).toBe(0o700);
    expect(statSync(`/proc/${ns.pid}/root/etc/sudoers.d/90-cdktf-access`).mode & 0o7777).toBe(0o440);
    expect(sudoRules()).toEqual([`${alice} ALL=(ALL) NOPASSWD:ALL`]);
    expect(groupsOf(alice)).toEqual(['www-data']);

    const ok = login(alice, `P.${alice}`);
    expect(ok.stdout.trim()).toBe(alice);
    expect(newSshdLog()).toMatch(new RegExp(`Accepted publickey for ${alice} from 127\\.0\\.0\\.1 .*ED25519-CERT`));
    expect(login(alice, `p.${alice}`).stdout.trim()).toBe(alice);
    const wrong = login(alice, `P.${bob}`);
    expect(wrong.status).toBe(255);
    expect(newSshdLog()).toMatch(/Certificate does not contain an authorized principal/);
    expect(sudoInSession(alice).stdout.trim()).toBe('root-ok');
  });

  test('an existing account the agent did not create is never modified, even when listed with sudo', async () => {
    const before = snapshot();
    const r = await agent();
    expect(r.status).toBe(0);
    // nothing to do, and nothing said: the notice is logged when it is new only.
    expect(r.stderr).toBe('');
    expect(snapshot()).toEqual(before);
    expect(principalsOf(pre)).toBeUndefined();
    expect(sudoRules().some((l) => l.startsWith(`${pre} `))).toBe(false);
    expect(line(before.passwd, pre)).toMatch(/:made by hand:/);
    expect(login(pre, `P.${pre}`).status).toBe(255);
    expect(state().accounts[pre]).toBeUndefined();
  });

  test('adding a user later changes nothing else: an open session of another user stays', async () => {
    const session = await openSession(alice, 'exec sleep 300');
    const before = snapshot();
    setTags([acct(alice, { sudo: true, groups: ['www-data'] }), acct(pre, { sudo: true }), acct(bob)]);
    const r = await agent();
    expect(r.status).toBe(0);
    const after = snapshot();
    expect(after.passwd.split('\n').filter((l) => !l.startsWith(`${bob}:`))).toEqual(before.passwd.split('\n'));
    expect(after.shadow.split('\n').filter((l) => !l.startsWith(`${bob}:`))).toEqual(before.shadow.split('\n'));
    expect(after.sudoers).toEqual(before.sudoers);
    expect({ ...after.principals, [bob]: undefined }).toEqual({ ...before.principals, [bob]: undefined });
    expect(after.principals[bob]).toBe(`644 0:0 P.${bob}\np.${bob}\n`);
    expect(login(bob, `P.${bob}`).stdout.trim()).toBe(bob);
    expect(sudoInSession(bob).status).not.toBe(0);
    await sleep(300);
    expect(session.exited()).toBe(false);
    session.child.kill('SIGKILL');
  });

  test('removing a user locks it at once: principal refused, open session killed, sudo gone, home kept', async () => {
    writeFile(`/proc/${ns.pid}/root/home/${alice}/notes.txt`, 'keep me\n');
    const session = await openSession(alice, 'exec sleep 301');
    const bobBefore = [passwdOf(bob), principalsOf(bob)];
    setTags([acct(pre, { sudo: true }), acct(bob)]);
    const r = await agent();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`cdktf-access-accounts: removed the principals of ${alice} (no longer listed)`);
    expect(r.stderr).toContain(`cdktf-access-accounts: locked ${alice} (no longer listed); the home directory stays`);
    expect(r.stderr).toMatch(new RegExp(`cdktf-access-accounts: ended the sessions of ${alice} \\(\\d+ processes\\)`));
    // the order the design asks for: principal first, then sudo, then the lock, sessions last.
    const order = ['removed the principals', 'wrote /etc/sudoers.d/90-cdktf-access', `locked ${alice}`, `ended the sessions of ${alice}`]
      .map((s) => r.stderr.indexOf(s));
    expect(order).toEqual([...order].sort((x, y) => x - y));
    expect(await waitFor(() => session.exited())).toBe(true);
    expect(ns.run('/usr/bin/pgrep', ['-f', 'sleep 301']).status).toBe(1);

    expect(principalsOf(alice)).toBeUndefined();
    expect(sudoRules()).toEqual([]);
    expect(ns.run(TOOLS.sudo, ['-n', '-l', '-U', alice]).stdout).toMatch(/is not allowed to run sudo/);
    expect(shadowOf(alice)![7]).toBe('1');
    expect(passwdOf(alice)).toMatch(/:\/usr\/sbin\/nologin$/);
    expect(groupsOf(alice)).toEqual([]);
    expect(ns.read(`/home/${alice}/notes.txt`)).toBe('keep me\n');
    newSshdLog();
    const refused = login(alice, `P.${alice}`);
    expect(refused.status).toBe(255);
    expect(newSshdLog()).toMatch(new RegExp(`Certificate does not contain an authorized principal|${alice}.*expired`));
    // the others are as they were.
    expect([passwdOf(bob), principalsOf(bob)]).toEqual(bobBefore);
    expect(login(bob, `P.${bob}`).stdout.trim()).toBe(bob);
  });

  test('a locked account stays locked even if someone writes it a principals file: the expired account refuses the login', async () => {
    writeFile(`/proc/${ns.pid}/root/etc/ssh/auth_principals/${alice}`, `P.${alice}\n`);
    newSshdLog();
    expect(login(alice, `P.${alice}`).status).toBe(255);
    // the certificate passes (the planted file names the principal); PAM refuses the expired account.
    expect(newSshdLog()).toMatch(new RegExp(`Access denied for user ${alice} by PAM account configuration`));
    const r = await agent();
    expect(r.stderr).toBe(`cdktf-access-accounts: removed the principals of ${alice} (no longer listed)\n`);
    expect(principalsOf(alice)).toBeUndefined();
  });

  test('re-adding a user unlocks it, with its home as it was', async () => {
    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob)]);
    const r = await agent();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`cdktf-access-accounts: unlocked ${alice} (listed again)`);
    expect(shadowOf(alice)![7]).toBe('');
    expect(passwdOf(alice)).toMatch(/:\/bin\/bash$/);
    expect(principalsOf(alice)).toBe(`P.${alice}\np.${alice}\n`);
    expect(login(alice, `P.${alice}`).stdout.trim()).toBe(alice);
    expect(ns.read(`/home/${alice}/notes.txt`)).toBe('keep me\n');
    expect(sudoInSession(alice).status).not.toBe(0);
  });

  test('revoking sudo makes sudo -n true fail and ends the sessions, a root shell opened before included', async () => {
    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob, { sudo: true })]);
    expect((await agent()).stderr).toContain(`granted sudo to ${bob}`);
    expect(sudoInSession(bob).stdout.trim()).toBe('root-ok');
    const plain = await openSession(bob, 'exec sleep 302');
    const root = await openSession(bob, 'sudo -n sh -c "echo rooted; exec sleep 303"');
    expect(await waitFor(() => root.output().includes('rooted'))).toBe(true);
    expect(ns.run('/usr/bin/pgrep', ['-u', '0', '-f', 'sleep 303']).status).toBe(0);

    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob)]);
    const r = await agent();
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`cdktf-access-accounts: revoked sudo of ${bob}; ending their sessions`);
    expect(await waitFor(() => plain.exited() && root.exited())).toBe(true);
    expect(ns.run('/usr/bin/pgrep', ['-f', 'sleep 30[23]']).status).toBe(1);
    expect(sudoRules()).toEqual([]);
    const again = sudoInSession(bob);
    expect(again.stdout).not.toContain('root-ok');
    expect(again.stderr).toMatch(/a password is required|not allowed|may not run sudo/);
    // bob stays: a new login works.
    expect(login(bob, `P.${bob}`).stdout.trim()).toBe(bob);
  });

  test('groups: an existing system group needs sudo, a new team group is created, www-data and users are allowed', async () => {
    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob), acct(carol, { groups: ['cdrom', 'www-data', 'users', team] })]);
    const r = await agent();
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`cdktf-access-accounts: created group ${team} \\(gid (\\d+)\\)`));
    expect(r.stderr).toContain(`cdktf-access-accounts: account ${carol}: group cdrom skipped, an existing system group needs sudo: true`);
    expect(groupsOf(carol)).toEqual([team, 'users', 'www-data'].sort());
    const gid = Number(line(ns.read('/etc/group')!, team)!.split(':')[2]);
    expect(gid).toBeGreaterThanOrEqual(1000);
    expect(state().groups[team]).toEqual({ id: gid });

    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob), acct(carol, { sudo: true, groups: ['cdrom', 'www-data', team] })]);
    expect((await agent()).status).toBe(0);
    expect(groupsOf(carol)).toEqual(['cdrom', team, 'www-data'].sort());
    expect(line(ns.read('/etc/group')!, team)!.split(':')[2]).toBe(String(gid));
    // and back: without sudo, cdrom goes again, the team group (ours) stays.
    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob), acct(carol, { groups: ['cdrom', team] })]);
    expect((await agent()).status).toBe(0);
    expect(groupsOf(carol)).toEqual([team]);
  });

  describe('a source that is unreachable, malformed, incomplete or ambiguous changes nothing', () => {
    // a list that would remove everyone the agent made: none of these may apply it.
    const removeAll = () => [acct(pre)];
    const cases: [string, () => void, RegExp, number][] = [
      ['an unreachable source', () => (url = url.replace(/:\d+\//, `:${unusedPort}/`)), /cannot reach the metadata service at http:\/\/127\.0\.0\.1:\d+\/metadata\/v1\/tags\/: .*refused/, 3],
      ['an HTTP error', () => (server.status = 500), /cannot read the tags from .*: HTTP 500/, 3],
      ['no account tags', () => (server.tags = ['web']), /refused the account tags: no account tags/, 4],
      ['a malformed tag', () => (server.tags = [...encodeAccountTags(removeAll()), 'cdad:zz']), /refused the account tags: malformed account tag "cdad:zz"/, 4],
      ['a missing chunk', () => (server.tags = encodeAccountTags(manyAccounts()).slice(1)), /refused the account tags: no complete valid generation \([0-9a-f]{12}: incomplete, \d+ of \d+ chunks\)/, 4],
      ['a wrong hash', () => (server.tags = encodeAccountTags(removeAll()).map((t) => t.slice(0, 5) + (t[5] === '0' ? '1' : '0') + t.slice(6))), /does not match its hash/, 4],
      ['two complete generations', () => (server.tags = [...encodeAccountTags(removeAll()), ...encodeAccountTags([acct(pre), acct(name('dave'))])]), /2 complete generations/, 4],
      ['duplicate principals', () => (server.tags = tagsForDocument(JSON.stringify({ v: 1, accounts: [acct(alice), { ...acct(bob), principals: [`P.${alice}`] }] }))), /accepts too/, 4],
      ['an invalid name', () => (server.tags = tagsForDocument(JSON.stringify({ v: 1, accounts: [{ ...acct(pre), name: 'Root' }] }))), /name "Root" is not a valid Unix name/, 4],
    ];
    let unusedPort = 0;
    let savedUrl = '';

    beforeAll(async () => {
      unusedPort = await freePort();
      savedUrl = url;
    });
    afterEach(() => {
      url = savedUrl;
      server.status = 200;
    });

    test.each(cases)('%s', async (_label, breakIt, message, code) => {
      const before = snapshot();
      const stateBefore = ns.read('/var/lib/cdktf-access-droplet/accounts.json');
      breakIt();
      const r = await agent();
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/; nothing changed\n$/);
      expect(r.stderr.split('\n').filter((l) => l)).toHaveLength(1);
      expect(r.stderr).toMatch(/^cdktf-access-accounts: /);
      expect(r.status).toBe(code);
      expect(snapshot()).toEqual(before);
      expect(ns.read('/var/lib/cdktf-access-droplet/accounts.json')).toBe(stateBefore);
    });

    test('a source that never answers: the agent gives up after 5 s and changes nothing', async () => {
      const before = snapshot();
      server.hang = true;
      const started = Date.now();
      const r = await agent();
      const took = Date.now() - started;
      server.hang = false;
      server.release();
      expect(r.stderr).toMatch(/cannot reach the metadata service at .*timed out; nothing changed/);
      expect(r.status).toBe(3);
      expect(took).toBeGreaterThanOrEqual(4500);
      expect(took).toBeLessThan(15000);
      expect(snapshot()).toEqual(before);
    }, 30000);
  });

  // a list of many accounts with random names: tags in several chunks.
  function manyAccounts(): AccountRecord[] {
    return Array.from({ length: 30 }, (_, i) => acct(`${name('m')}${i}`.slice(0, 32), { principals: [`m${i}.${Math.random().toString(36).slice(2)}`] }));
  }

  test('the agent refuses to run as anyone but root, and leaves the tags unread', async () => {
    const before = server.requests;
    const r = ns.run('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', PYTHON, AGENT, '--once', '--metadata-url', url]);
    expect(r.stderr).toBe('cdktf-access-accounts: must run as root\n');
    expect(r.status).toBe(6);
    expect(server.requests).toBe(before);
  });

  test('never writes through a symlink: a planted principals or sudoers link is replaced, its target untouched', async () => {
    const target = join(dir, 'target');
    writeFile(target, 'untouched\n', 0o644);
    ns.run('/bin/ln', ['-sf', target, `/etc/ssh/auth_principals/${bob}`]);
    ns.run('/bin/ln', ['-sf', target, '/etc/sudoers.d/90-cdktf-access']);
    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob, { sudo: true })]);
    const r = await agent();
    expect(r.status).toBe(0);
    expect(readFileSync(target, 'utf8')).toBe('untouched\n');
    expect(principalsOf(bob)).toBe(`P.${bob}\np.${bob}\n`);
    expect(sudoRules()).toEqual([`${bob} ALL=(ALL) NOPASSWD:ALL`]);
    expect(ns.run('/usr/bin/test', ['-L', `/etc/ssh/auth_principals/${bob}`]).status).toBe(1);
  });

  test('a state file it cannot read: nothing changes, and it says how to recover', async () => {
    const before = snapshot();
    const saved = ns.read('/var/lib/cdktf-access-droplet/accounts.json')!;
    writeFile(`/proc/${ns.pid}/root/var/lib/cdktf-access-droplet/accounts.json`, '{"v":1,', 0o600);
    setTags([acct(pre)]);
    const r = await agent();
    expect(r.stderr).toMatch(/accounts\.json is unreadable; nothing changed \(restore it, or remove it/);
    expect(r.status).toBe(6);
    expect(snapshot()).toEqual(before);
    writeFile(`/proc/${ns.pid}/root/var/lib/cdktf-access-droplet/accounts.json`, saved, 0o600);
  });

  test('without --once it applies every --interval seconds', async () => {
    setTags([acct(alice), acct(pre, { sudo: true }), acct(bob), acct(carol, { groups: [team] })]);
    const loop = ns.runAsync('/usr/bin/timeout', ['-s', 'KILL', '4', PYTHON, AGENT, '--interval', '0.5', '--metadata-url', url], 10000);
    await sleep(1500);
    setTags([acct(alice), acct(pre, { sudo: true }), acct(carol, { groups: [team] })]);
    const r = await loop;
    expect(r.stderr).toContain(`locked ${bob} (no longer listed)`);
    expect(shadowOf(bob)![7]).toBe('1');
  });

  test('on random lists nobody listed, valid and broken, the invariants hold after every run', async () => {
    const rand = prng(Number.parseInt(tag, 16));
    const baseline = snapshot();
    const everManaged = () => new Set(Object.keys(state().accounts));
    const managedGroups = () => new Set(Object.keys(state().groups));
    // everyone but the accounts the agent made in the tests before.
    const baselineManaged = everManaged();
    const baselineUsers = new Set(baseline.passwd.split('\n').filter((l) => l).map((l) => l.split(':')[0]).filter((u) => !baselineManaged.has(u)));
    const baselineGroups = new Map(baseline.group.split('\n').filter((l) => l).map((l) => [l.split(':')[0], l]));
    const baselineManagedGroups = managedGroups();
    const pools = {
      // ours, an account made by hand, system accounts, and names of groups that exist.
      names: [alice, bob, carol, name('dave'), name('erin'), name('x'), pre, 'root', 'daemon', 'nobody', 'www-data', 'staff', 'plugdev'],
      groups: ['www-data', 'users', 'adm', 'cdrom', 'disk', 'sudo', 'shadow', 'root', 'video', team, name('ops'), name('new')],
    };
    const counts = { valid: 0, refused: 0, partial: 0 };
    for (let round = 0; round < 30; round++) {
      const accounts = randomAccounts(rand, pools, 7);
      const broken = rand() < 0.3;
      const before = snapshot();
      const stateBefore = ns.read('/var/lib/cdktf-access-droplet/accounts.json');
      let label: string;
      if (broken) {
        const other = randomAccounts(rand, pools, 3);
        const options = accounts.length >= 2
          ? [...tagCases(accounts, other).filter((c) => !c.valid).map((c) => ({ label: c.label, tags: c.tags })),
            ...brokenDocuments(accounts).map((d) => ({ label: d.label, tags: tagsForDocument(d.text) }))]
          : [{ label: 'missing chunk', tags: encodeAccountTags(accounts).slice(1) }, { label: 'wrong hash', tags: encodeAccountTags(accounts).map((t) => t.slice(0, 5) + (t[5] === 'a' ? 'b' : 'a') + t.slice(6)) }];
        const pick = options[Math.floor(rand() * options.length)];
        server.tags = pick.tags;
        label = `round ${round}: broken (${pick.label})`;
      } else {
        setTags(accounts);
        label = `round ${round}: ${JSON.stringify(accounts.map((a) => [a.name, a.sudo, a.groups]))}`;
      }
      const r = await agent();
      const why = `${label}\n${r.stderr}`;
      if (broken) {
        counts.refused++;
        // invariant: a source that is malformed, incomplete or ambiguous changes nothing.
        expect([why, r.status]).toEqual([why, 4]);
        expect([why, snapshot()]).toEqual([why, before]);
        expect([why, ns.read('/var/lib/cdktf-access-droplet/accounts.json')]).toEqual([why, stateBefore]);
        continue;
      }
      // a name that is a group but no account makes useradd fail: logged, the rest applied.
      expect([why, [0, 5].includes(r.status!)]).toEqual([why, true]);
      if (r.status === 5) counts.partial++;
      else counts.valid++;
      const after = snapshot();
      const managed = everManaged();
      const listed = new Map(accounts.map((a) => [a.name, a]));
      // invariant: only accounts this agent created are ever touched.
      for (const u of baselineUsers) {
        expect([why, u, line(after.passwd, u), line(after.shadow, u)]).toEqual([why, u, line(baseline.passwd, u), line(baseline.shadow, u)]);
        expect([why, u, groupsOfIn(after.group, u)]).toEqual([why, u, groupsOfIn(baseline.group, u)]);
        expect(managed.has(u)).toBe(false);
      }
      for (const [g, l] of baselineGroups) expect([why, line(after.group, g)?.split(':').slice(0, 3)]).toEqual([why, l.split(':').slice(0, 3)]);
      // and it never takes over a group it did not create.
      const ourGroups = managedGroups();
      for (const g of ourGroups) expect([why, g, !baselineGroups.has(g) || baselineManagedGroups.has(g)]).toEqual([why, g, true]);
      // the principals and sudo rules are exactly those of listed accounts that are ours.
      const ours = [...listed.keys()].filter((n) => managed.has(n)).sort();
      expect([why, Object.keys(after.principals).sort()]).toEqual([why, ours]);
      for (const n of ours) expect([why, after.principals[n]]).toEqual([why, `644 0:0 ${listed.get(n)!.principals.map((p) => `${p}\n`).join('')}`]);
      expect([why, sudoRules()]).toEqual([why, ours.filter((n) => listed.get(n)!.sudo).sort().map((n) => `${n} ALL=(ALL) NOPASSWD:ALL`)]);
      for (const n of managed) {
        const sh = line(after.shadow, n)!.split(':');
        const pw = line(after.passwd, n)!;
        const groups = groupsOfIn(after.group, n);
        if (listed.has(n)) {
          const a = listed.get(n)!;
          expect([why, n, sh[7], pw.endsWith(':/bin/bash')]).toEqual([why, n, '', true]);
          // the group rule: an existing group of the system needs sudo, unless it is known to be harmless.
          const allowed = a.groups.filter((g) => a.sudo || SAFE_GROUPS.includes(g) || ourGroups.has(g));
          expect([why, n, groups]).toEqual([why, n, [...allowed].sort()]);
        } else {
          expect([why, n, sh[7], pw.endsWith(':/usr/sbin/nologin'), groups]).toEqual([why, n, '1', true, []]);
        }
      }
    }
    expect(counts.valid).toBeGreaterThan(5);
    expect(counts.refused).toBeGreaterThan(3);
  }, 300000);

  function groupsOfIn(group: string, n: string): string[] {
    return group.split('\n').filter((l) => l && l.split(':')[3].split(',').includes(n)).map((l) => l.split(':')[0]).sort();
  }
});

describeReal('the accounts service and timer', [NEEDS.systemdAnalyze], () => {
  afterAll(() => removeTempDirs());

  /** `systemd-analyze verify` on both units, saved side by side in `subdir`, the agent moved to a stub. */
  function verify(service: string, timer: string, subdir: string) {
    const d = join(makeTempDir('accounts-units'), subdir);
    const stub = join(d, 'accounts');
    writeFile(stub, '#!/bin/sh\nexit 0\n', 0o755);
    writeFile(join(d, 'cdktf-access-accounts.service'), service.replace(`ExecStart=${INSTALLED} `, `ExecStart=${stub} `));
    writeFile(join(d, 'cdktf-access-accounts.timer'), timer);
    return run(TOOLS.systemdAnalyze, ['verify', '--man=no', join(d, 'cdktf-access-accounts.service'), join(d, 'cdktf-access-accounts.timer')]);
  }
  const values = (unit: string, key: string) => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));

  test('systemd-analyze verify accepts both units without a single warning', () => {
    const r = verify(readFileSync(UNIT, 'utf8'), readFileSync(TIMER, 'utf8'), 'ok');
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  test('systemd-analyze verify reports a misspelled key and a bad value (control)', () => {
    const r = verify(readFileSync(UNIT, 'utf8').replace('Type=oneshot', 'Type=oneshoot'), readFileSync(TIMER, 'utf8').replace('OnUnitActiveSec=30s', 'OnUnitActiveSecs=30s'), 'control');
    expect(r.stderr).toMatch(/Failed to parse service type/);
    expect(r.stderr).toMatch(/Unknown key 'OnUnitActiveSecs'/);
  });

  test('the service runs the installed agent once, as root, and may reach the metadata service only', () => {
    const unit = readFileSync(UNIT, 'utf8');
    expect(values(unit, 'Type')).toEqual(['oneshot']);
    expect(values(unit, 'ExecStart')).toEqual([`${INSTALLED} --once`]);
    expect(values(unit, 'User')).toEqual([]);
    // another change denies the metadata address to system.slice: the allow on the unit wins.
    expect(values(unit, 'IPAddressAllow')).toEqual(['169.254.169.254']);
    expect(values(unit, 'IPAddressDeny')).toEqual(['any']);
  });

  test('the timer runs it 20 s after boot and every 30 s after that', () => {
    const timer = readFileSync(TIMER, 'utf8');
    expect([values(timer, 'OnBootSec'), values(timer, 'OnUnitActiveSec'), values(timer, 'AccuracySec')]).toEqual([['20s'], ['30s'], ['5s']]);
    expect(values(timer, 'WantedBy')).toEqual(['timers.target']);
  });

  test('the agent is executable python3 and compiles', () => {
    expect(statSync(AGENT).mode & 0o111).toBe(0o111);
    expect(readFileSync(AGENT, 'utf8').split('\n')[0]).toBe('#!/usr/bin/python3');
    const out = join(makeTempDir('accounts-compile'), 'accounts.pyc');
    expect(run(PYTHON, ['-c', 'import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)', AGENT, out]).status).toBe(0);
  });
});
