// the installed cloud-init must accept what renderCloudInit produces, for every shape of option
// the API offers (the metadata guard, forwarding, the apt source, extraCloudConfig merged by
// cloud-init's own code), its own write_files module must write the files we expect (the accounts
// agent among them, gzipped), and its own users_groups module, over this machine's cloud.cfg,
// must create no account at all from it: accounts come from the droplet's tags.
import { readFileSync, statSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { CloudInit, CloudInitOptions, METADATA_GUARD_ALLOW_DROP_INS } from '../../lib/cloud-init';
import { composeUserData } from '../../lib/user-data';
import {
  cloudInitSchema, cloudInitSchemaMany, cloudInitTopLevelKeys, describeReal, EMPTY_USERS_SCHEMA_BUG, fakeTunnelToken, HostNamespace, KeyPair,
  makeTempDir, mergeWithCloudInit, NEEDS, NEEDS_HOST, newKeyPair, options, parseCloudConfig, removeTempDirs, renderCloudInit, ROOT,
  runAsync, schemaAccepts, startHostNamespace, stopHostNamespaces, TOOLS, usersGroupsInNamespace, writeFilesWithCloudInit,
} from './helpers';

const { DEFAULT_CLOUDFLARED_APT_KEY_URL, DEFAULT_CLOUDFLARED_APT_URL, SSHD_DROP_IN_NAME } = CloudInit;

const SETUP = '/usr/local/lib/cdktf-access-droplet/setup';
const AGENT = '/usr/local/lib/cdktf-access-droplet/accounts';

// the switches that change the document besides the apt source.
const SWITCHES: Record<string, Partial<CloudInitOptions>> = {
  'defaults': {},
  'no metadata guard': { restrictMetadataService: false },
  'port forwarding': { allowPortForwarding: true },
  'no guard, forwarding': { restrictMetadataService: false, allowPortForwarding: true },
};

// every way the API lets a caller point at the cloudflared apt repository.
const APT_SHAPES: Record<string, Partial<CloudInitOptions>> = {
  'default repository': {},
  'https mirror with an armoured key': {
    cloudflaredAptUrl: 'https://mirror.example.com/cloudflared',
    cloudflaredAptKeyUrl: 'https://mirror.example.com/keys/cloudflare.asc',
  },
  'file:// repository and key': {
    cloudflaredAptUrl: 'file:///srv/apt/cloudflared',
    cloudflaredAptKeyUrl: 'file:///srv/apt/cloudflared/key.gpg',
  },
  'custom suite and component': { cloudflaredAptSuite: 'bookworm', cloudflaredAptComponent: 'contrib' },
  'everything custom': {
    cloudflaredAptUrl: 'http://10.0.0.5:8080/apt/cloudflared',
    cloudflaredAptKeyUrl: 'file:///etc/cdktf/cloudflared.gpg',
    cloudflaredAptSuite: 'stable/updates',
    cloudflaredAptComponent: 'main',
  },
};

// extraCloudConfig the check accepts without the opt-in, and one that needs it.
const EXTRAS: Record<string, { [key: string]: unknown }> = {
  'packages, a file in /opt, a timezone': {
    packages: ['htop'], package_update: true, timezone: 'Europe/Berlin',
    write_files: [{ path: '/opt/app/motd', content: 'managed by cdktf\n', permissions: '0644' }],
  },
  'a volume mounted below /srv': {
    fs_setup: [{ device: '/dev/disk/by-id/scsi-0DO_Volume_data', filesystem: 'ext4', label: 'data', partition: 'none' }],
    mounts: [['/dev/disk/by-id/scsi-0DO_Volume_data', '/srv/data', 'ext4', 'defaults,nofail,nosuid,nodev', '0', '2']],
  },
  'a runcmd (dangerouslyRunExtraCloudConfigAsRoot)': { runcmd: ['echo extra'] },
};

// what write_files must hold with the guard on: path → [owner, permissions, encoding].
const EXPECTED_WRITE_FILES: Record<string, [string, string, string?]> = {
  '/etc/ssh/ca.pub': ['root:root', '0644'],
  [`/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`]: ['root:root', '0644'],
  '/etc/cloudflared-access/tunnel.env': ['root:root', '0600'],
  '/etc/systemd/system/cloudflared-access.service': ['root:root', '0644'],
  '/usr/local/lib/cdktf-access-droplet/metadata-guard': ['root:root', '0755'],
  '/etc/systemd/system/cdktf-metadata-guard.service': ['root:root', '0644'],
  '/etc/systemd/system/-.slice.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
  ...Object.fromEntries(METADATA_GUARD_ALLOW_DROP_INS.map((p) => [p, ['root:root', '0644'] as [string, string]])),
  '/etc/systemd/system/ssh.service.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
  '/etc/systemd/system/cloudflared-access.service.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
  '/etc/systemd/system/nftables.service.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
  [AGENT]: ['root:root', '0755', 'gz+b64'],
  '/etc/systemd/system/cdktf-access-accounts.service': ['root:root', '0644'],
  '/etc/systemd/system/cdktf-access-accounts.timer': ['root:root', '0644'],
  '/usr/local/lib/cdktf-access-droplet/update-cloudflared': ['root:root', '0755', 'gz+b64'],
  '/etc/systemd/system/cdktf-cloudflared-update.service': ['root:root', '0644'],
  '/etc/systemd/system/cdktf-cloudflared-update.timer': ['root:root', '0644'],
  [SETUP]: ['root:root', '0755'],
};

describeReal('cloud-init accepts the rendered cloud-config', [NEEDS.cloudInit, NEEDS.cloudInitModules, NEEDS.sshKeygen], () => {
  let dir: string;
  let ca: KeyPair;
  let token: string;

  beforeAll(() => {
    dir = makeTempDir('schema');
    ca = newKeyPair(dir, 'access-ca');
    token = fakeTunnelToken();
  });
  afterAll(() => removeTempDirs());

  test('cloud-init schema (the command): the defaults are valid; a cloud-init before 23.2 refuses users: [] and nothing else', async () => {
    const r = await cloudInitSchema(renderCloudInit(options(ca, token)), dir);
    expect({ accepted: schemaAccepts(r), r }).toMatchObject({ accepted: true });
    // and what this machine's cloud-init says about it, exactly (Debian 12: 22.4.2).
    const versionRun = await runAsync(TOOLS.cloudInit, ['--version']);
    const version = / (\d+)\.(\d+)/.exec(versionRun.stdout + versionRun.stderr)!;
    const fixed = Number(version[1]) > 23 || (Number(version[1]) === 23 && Number(version[2]) >= 2);
    expect(r.stderr).toBe(fixed ? '' : `Error:\n${EMPTY_USERS_SCHEMA_BUG}\n`);
  });

  test('cloud-init schema: every combination of the guard, forwarding and apt options is valid', () => {
    const cases = Object.entries(SWITCHES).flatMap(([s, switches]) =>
      Object.entries(APT_SHAPES).map(([a, apt]) => ({ name: `${s} × ${a}`, opts: options(ca, token, { ...switches, ...apt }) })));
    const texts = cases.map((c) => renderCloudInit(c.opts));
    const results = cloudInitSchemaMany(texts, dir).map((r, i) => ({ ...r, ...cases[i], text: texts[i] }));
    expect(results.filter((r) => !r.valid).map((r) => `${r.name}: ${r.output} / ${r.stockOutput}`)).toEqual([]);
    expect(results).toHaveLength(Object.keys(SWITCHES).length * Object.keys(APT_SHAPES).length);

    for (const r of results) {
      const cfg = parseCloudConfig(r.text);
      expect(cfg.users).toEqual([]);
      // the apt options reach the setup command intact, as separate arguments (no shell between).
      expect(cfg.runcmd).toEqual([[
        SETUP,
        r.opts.cloudflaredAptKeyUrl ?? DEFAULT_CLOUDFLARED_APT_KEY_URL,
        r.opts.cloudflaredAptUrl ?? DEFAULT_CLOUDFLARED_APT_URL,
        r.opts.cloudflaredAptSuite ?? 'any',
        r.opts.cloudflaredAptComponent ?? 'main',
      ]]);
    }
  });

  test('cloud-init schema: with extraCloudConfig, what cloud-init merges is valid, with and without the guard', () => {
    const switches = { 'defaults': SWITCHES['defaults'], 'no guard, forwarding': SWITCHES['no guard, forwarding'] };
    const cases = Object.entries(switches).flatMap(([s, chosen]) => Object.entries(EXTRAS).map(([e, extra]) => ({
      name: `${s} × ${e}`, ours: renderCloudInit(options(ca, token, chosen)), extra,
    })));
    const merged = cases.map((c) => mergeWithCloudInit(composeUserData(c.ours, c.extra), dir));
    const results = cloudInitSchemaMany(merged, dir);
    expect(results.map((r, i) => (r.valid ? [] : [`${cases[i].name}: ${r.output} / ${r.stockOutput}`])).flat()).toEqual([]);
    // ours stays whole in the merge: no user, our files first, our setup first.
    merged.forEach((text, i) => {
      const config = parse(text);
      const alone = parse(cases[i].ours);
      expect(config.users).toEqual([]);
      expect(config.write_files.slice(0, alone.write_files.length)).toEqual(alone.write_files);
      expect(config.runcmd[0]).toEqual(alone.runcmd[0]);
    });
  });

  test('cloud-init schema rejects a bad encoding, and the 23.2 schema still checks users (controls: the checks have teeth)', async () => {
    const text = renderCloudInit(options(ca, token));
    const badEncoding = text.replace('    encoding: gz+b64\n', '    encoding: gz+b65\n');
    const badUser = text.replace('\nusers: []\n', '\nusers: [{ name: x, lock_password: true }]\n');
    expect([badEncoding, badUser].every((t) => t !== text)).toBe(true);
    const r = await cloudInitSchema(badEncoding, dir, 'bad-encoding');
    expect(schemaAccepts(r)).toBe(false);
    expect(r.stdout + r.stderr).toMatch(/gz\+b65/);
    const [encoding, user] = cloudInitSchemaMany([badEncoding, badUser], dir);
    expect(encoding.valid).toBe(false);
    expect(encoding.output).toMatch(/gz\+b65/);
    expect(user.valid).toBe(false);
    expect(user.output).toMatch(/lock_password/);
  });

  test('top-level keys are exactly the modules we use, all known to cloud-init', () => {
    // cloud-init 22.4 ignores unknown top-level keys; 24.x rejects them, so check them here.
    const cfg = parseCloudConfig(renderCloudInit(options(ca, token, { allowPortForwarding: true, ...APT_SHAPES['everything custom'] })));
    const keys = Object.keys(cfg).sort();
    expect(keys).toEqual(['runcmd', 'ssh_pwauth', 'users', 'write_files']);
    const known = cloudInitTopLevelKeys();
    expect(known.size).toBeGreaterThan(50); // the schema was read, not an empty set.
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
  });

  test('write_files: paths, owners, permissions and encodings; no account file of any kind', () => {
    const cfg = parseCloudConfig(renderCloudInit(options(ca, token)));
    expect(cfg.ssh_pwauth).toBe(false);
    const got = Object.fromEntries(cfg.write_files.map((f) => [f.path, [f.owner, f.permissions, ...(f.encoding ? [f.encoding] : [])]]));
    expect(got).toEqual(Object.fromEntries(Object.entries(EXPECTED_WRITE_FILES).map(([p, v]) => [p, v.filter((x) => x !== undefined)])));
    // no path may repeat.
    expect(new Set(cfg.write_files.map((f) => f.path)).size).toBe(cfg.write_files.length);
    for (const f of cfg.write_files) expect(Object.keys(f).sort()).toEqual(f.encoding ? ['content', 'encoding', 'owner', 'path', 'permissions'] : ['content', 'owner', 'path', 'permissions']);
    expect(cfg.write_files.filter((f) => /auth_principals|sudoers|passwd|shadow/.test(f.path))).toEqual([]);
  });
});

describeReal("cloud-init's write_files module", [NEEDS.root, NEEDS.cloudInitModules, NEEDS.sshKeygen], () => {
  let dir: string;
  let ca: KeyPair;
  let token: string;

  beforeAll(() => {
    dir = makeTempDir('write-files');
    ca = newKeyPair(dir, 'access-ca');
    token = fakeTunnelToken();
  });
  afterAll(() => removeTempDirs());

  test('writes the files with the modes, owners and contents we expect, the agent unpacked byte for byte', () => {
    const text = renderCloudInit(options(ca, token));
    const cfg = parseCloudConfig(text);
    const root = makeTempDir('write-files-root');
    writeFilesWithCloudInit(text, dir, root);
    for (const [path, [, permissions, encoding]] of Object.entries(EXPECTED_WRITE_FILES)) {
      const file = join(root, path);
      const st = statSync(file);
      expect({ path, mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid })
        .toEqual({ path, mode: permissions, uid: 0, gid: 0 });
      if (encoding === undefined) expect(readFileSync(file, 'utf8')).toBe(cfg.write_files.find((f) => f.path === path)!.content);
    }
    // cloud-init unpacks the gzipped agent into exactly cloud-init/accounts, which the setup script runs.
    expect(readFileSync(join(root, AGENT))).toEqual(readFileSync(join(ROOT, 'cloud-init', 'accounts')));
    expect(readFileSync(join(root, 'etc/ssh/ca.pub'), 'utf8')).toBe(`${ca.publicKeyLine}\n`);
    expect(readFileSync(join(root, 'etc/cloudflared-access/tunnel.env'), 'utf8')).toBe(`TUNNEL_TOKEN=${token}\n`);
  });
});

describeReal("users: [] makes cloud-init's users_groups create no account, not even the image's default sudoer",
  [...NEEDS_HOST, NEEDS.cloudInitModules], () => {
    let dir: string;
    let ours: string;
    // the image's default user, from this machine's cloud.cfg (Debian's cloud images: "debian").
    const defaultUser = (parse(readFileSync('/etc/cloud/cloud.cfg', 'utf8')) as { system_info?: { default_user?: { name?: string } } })
      .system_info?.default_user?.name;

    beforeAll(() => {
      dir = makeTempDir('users-groups');
      ours = renderCloudInit(options(newKeyPair(dir, 'access-ca'), fakeTunnelToken()));
    });
    afterAll(() => {
      stopHostNamespaces();
      removeTempDirs();
    });

    /** users_groups over `userData` in a namespace (by default a fresh one); what it did to the accounts and sudo rules. */
    async function runOn(userData: string, name: string, given?: HostNamespace) {
      const ns = given ?? await startHostNamespace(dir);
      const before = { passwd: ns.read('/etc/passwd')!, group: ns.read('/etc/group')!, sudoers: ns.list('/etc/sudoers.d') };
      const run = usersGroupsInNamespace(ns, userData, dir, name);
      const after = { passwd: ns.read('/etc/passwd')!, group: ns.read('/etc/group')!, sudoers: ns.list('/etc/sudoers.d') };
      const added = (a: string, b: string) => b.split('\n').filter((l) => l && !a.split('\n').includes(l)).map((l) => l.split(':')[0]);
      const result = {
        run, newUsers: added(before.passwd, after.passwd), newSudoers: after.sudoers.filter((f) => !before.sudoers.includes(f)),
        sudoRules: (ns.read('/etc/sudoers.d/90-cloud-init-users') ?? '').split('\n').filter((l) => l && !l.startsWith('#')),
        groupsOf: (user: string) => after.group.split('\n').filter((l) => l && l.split(':')[3].split(',').includes(user)).map((l) => l.split(':')[0]),
      };
      if (given === undefined) ns.stop();
      return result;
    }

    test('this machine\'s cloud.cfg has a default user, which the control below creates', () => {
      expect(defaultUser).toMatch(/^[a-z_][a-z0-9_-]*$/);
      expect(readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${defaultUser}:`))).toBe(false);
    });

    test('the rendered cloud-config: no user to create, no account, no sudo rule', async () => {
      const r = await runOn(ours, 'ours');
      expect(r.run.cfgUsers).toEqual([]);
      expect(r.run.users).toEqual([]);
      expect(r.newUsers).toEqual([]);
      expect(r.newSudoers).toEqual([]);
    });

    test('merged with extraCloudConfig (accepted, and a runcmd with the opt-in): still none', async () => {
      // one namespace for all: each run is compared with what was there before it.
      const ns = await startHostNamespace(dir);
      for (const [name, extra] of Object.entries(EXTRAS)) {
        const r = await runOn(composeUserData(ours, extra), `extra-${Object.keys(EXTRAS).indexOf(name)}`, ns);
        expect({ name, users: r.run.users, newUsers: r.newUsers, newSudoers: r.newSudoers }).toEqual({ name, users: [], newUsers: [], newSudoers: [] });
      }
    });

    test('without users: [] (control), the same module creates the default user as a passwordless sudoer', async () => {
      const without = ours.replace('\nusers: []\n', '\n');
      expect(without).not.toBe(ours);
      const r = await runOn(without, 'control');
      expect(r.run.cfgUsers).toEqual(['default']);
      expect(r.run.users).toEqual([defaultUser]);
      expect(r.newUsers).toEqual([defaultUser]);
      expect(r.sudoRules).toEqual([`${defaultUser} ALL=(ALL) NOPASSWD:ALL`]);
      expect(r.groupsOf(defaultUser!)).toContain('sudo');
    });
  });
