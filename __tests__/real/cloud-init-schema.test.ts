// the installed cloud-init must accept what renderCloudInit produces, for every shape of option
// the API offers, and its own write_files module must write the files we expect.
import { readFileSync, statSync } from 'fs';
import { join } from 'path';
import { AccessUserInput, UnixNameStyle } from '../../lib/users';
import { CertificatePrincipals, CloudInit, CloudInitOptions, METADATA_GUARD_ALLOW_DROP_INS } from '../../lib/cloud-init';
import {
  cloudInitSchema, cloudInitSchemaMany, cloudInitTopLevelKeys, describeReal, fakeTunnelToken, KeyPair, makeTempDir, NEEDS,
  newKeyPair, options, parseCloudConfig, removeTempDirs, renderCloudInit, writeFilesWithCloudInit,
} from './helpers';

const { DEFAULT_CLOUDFLARED_APT_KEY_URL, DEFAULT_CLOUDFLARED_APT_URL, SSHD_DROP_IN_NAME } = CloudInit;

const SETUP = '/usr/local/lib/cdktf-access-droplet/setup';

// every way the API lets a caller describe users.
const USER_SHAPES: Record<string, AccessUserInput[]> = {
  'one email': ['srhea@cloudflare.com'],
  'several emails': ['srhea@cloudflare.com', 'jdoe@example.com', 'ops_team@example.org'],
  'unixName differing from the principal': [{ email: 'jane.doe@example.com', unixName: 'jdoe' }],
  'sudo': [{ email: 'srhea@cloudflare.com', sudo: true }],
  'sudo false and empty groups': [{ email: 'srhea@cloudflare.com', sudo: false, groups: [] }],
  'groups': [{ email: 'srhea@cloudflare.com', groups: ['adm', 'www-data'] }],
  'root-equivalent groups with sudo': [{ email: 'srhea@cloudflare.com', sudo: true, groups: ['docker', 'lxd'] }],
  'all mixed': [
    'srhea@cloudflare.com',
    { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true, groups: ['adm'] },
    { email: 'ops@example.org', groups: ['systemd-journal', 'www-data'] },
  ],
};

// every way the API lets a caller point at the cloudflared apt repository, and the other
// switches that change the document (metadata guard, principals, naming).
const APT_SHAPES: Record<string, Partial<CloudInitOptions>> = {
  'no metadata guard': { restrictMetadataService: false },
  'infrastructure principals and normalized names': {
    certificatePrincipals: CertificatePrincipals.UNIX_NAME, unixNameStyle: UnixNameStyle.NORMALIZED, unixNames: { 'ops@example.com': 'ops_team' },
  },
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

// what write_files must hold for the default options: path → [owner, permissions].
function expectedWriteFiles(unixNames: string[]): Record<string, [string, string]> {
  return {
    '/etc/ssh/ca.pub': ['root:root', '0644'],
    [`/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`]: ['root:root', '0644'],
    ...Object.fromEntries(unixNames.map((u) => [`/etc/ssh/auth_principals/${u}`, ['root:root', '0644']])),
    '/etc/cloudflared-access/tunnel.env': ['root:root', '0600'],
    '/etc/systemd/system/cloudflared-access.service': ['root:root', '0644'],
    '/usr/local/lib/cdktf-access-droplet/metadata-guard': ['root:root', '0755'],
    '/etc/systemd/system/cdktf-metadata-guard.service': ['root:root', '0644'],
    '/etc/systemd/system/-.slice.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
    ...Object.fromEntries(METADATA_GUARD_ALLOW_DROP_INS.map((p) => [p, ['root:root', '0644']])),
    '/etc/systemd/system/ssh.service.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
    '/etc/systemd/system/cloudflared-access.service.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
    '/etc/systemd/system/nftables.service.d/cdktf-metadata-guard.conf': ['root:root', '0644'],
    [SETUP]: ['root:root', '0755'],
  };
}

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

  test('cloud-init schema: the default options are valid', async () => {
    const r = await cloudInitSchema(renderCloudInit(options(ca, token)), dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Valid cloud-config: /);
    expect(r.status).toBe(0);
  });

  test('cloud-init schema: every combination of user and apt options is valid', () => {
    const cases = Object.entries(USER_SHAPES).flatMap(([u, users]) =>
      Object.entries(APT_SHAPES).map(([a, apt]) => ({ name: `${u} × ${a}`, opts: options(ca, token, { users, ...apt }) })));
    const texts = cases.map((c) => renderCloudInit(c.opts));
    const results = cloudInitSchemaMany(texts, dir).map((r, i) => ({ ...r, ...cases[i], text: texts[i] }));
    expect(results.filter((r) => !r.valid).map((r) => `${r.name}: ${r.output}`)).toEqual([]);
    expect(results).toHaveLength(Object.keys(USER_SHAPES).length * Object.keys(APT_SHAPES).length);

    // the apt options reach the setup command intact, as separate arguments (no shell between).
    for (const r of results) {
      const cfg = parseCloudConfig(r.text);
      expect(cfg.runcmd).toEqual([[
        SETUP,
        r.opts.cloudflaredAptKeyUrl ?? DEFAULT_CLOUDFLARED_APT_KEY_URL,
        r.opts.cloudflaredAptUrl ?? DEFAULT_CLOUDFLARED_APT_URL,
        r.opts.cloudflaredAptSuite ?? 'any',
        r.opts.cloudflaredAptComponent ?? 'main',
      ]]);
    }
  });

  test('cloud-init schema rejects a misspelled user key (control: the checks have teeth)', async () => {
    const text = renderCloudInit(options(ca, token)).replace('    lock_passwd: true\n', '    lock_password: true\n');
    expect(text).toContain('lock_password');
    const r = await cloudInitSchema(text, dir, 'misspelled');
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/lock_password/);
    const [many] = cloudInitSchemaMany([text], dir);
    expect(many.valid).toBe(false);
    expect(many.output).toMatch(/lock_password/);
  });

  test('top-level keys are exactly the modules we use, all known to cloud-init', () => {
    // cloud-init 22.4 ignores unknown top-level keys; 24.x rejects them, so check them here.
    const cfg = parseCloudConfig(renderCloudInit(options(ca, token, {
      users: USER_SHAPES['all mixed'], ...APT_SHAPES['everything custom'],
    })));
    const keys = Object.keys(cfg).sort();
    expect(keys).toEqual(['runcmd', 'ssh_pwauth', 'users', 'write_files']);
    const known = cloudInitTopLevelKeys();
    expect(known.size).toBeGreaterThan(50); // the schema was read, not an empty set.
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
  });

  test('write_files: paths, owners and permissions', () => {
    const cfg = parseCloudConfig(renderCloudInit(options(ca, token, { users: USER_SHAPES['all mixed'] })));
    expect(cfg.ssh_pwauth).toBe(false);
    const got = Object.fromEntries(cfg.write_files.map((f) => [f.path, [f.owner, f.permissions]]));
    expect(got).toEqual(expectedWriteFiles(['srhea', 'jdoe', 'ops']));
    // the order matters only for readability, but no path may repeat.
    expect(new Set(cfg.write_files.map((f) => f.path)).size).toBe(cfg.write_files.length);
    for (const f of cfg.write_files) expect(Object.keys(f).sort()).toEqual(['content', 'owner', 'path', 'permissions']);
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

  test('writes the files with the modes, owners and contents we expect', () => {
    const text = renderCloudInit(options(ca, token, { users: USER_SHAPES['all mixed'] }));
    const cfg = parseCloudConfig(text);
    const root = makeTempDir('write-files-root');
    writeFilesWithCloudInit(text, dir, root);
    for (const [path, [, permissions]] of Object.entries(expectedWriteFiles(['srhea', 'jdoe', 'ops']))) {
      const file = join(root, path);
      const st = statSync(file);
      expect({ path, mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid })
        .toEqual({ path, mode: permissions, uid: 0, gid: 0 });
      expect(readFileSync(file, 'utf8')).toBe(cfg.write_files.find((f) => f.path === path)!.content);
    }
    expect(readFileSync(join(root, 'etc/ssh/ca.pub'), 'utf8')).toBe(`${ca.publicKeyLine}\n`);
    expect(readFileSync(join(root, 'etc/ssh/auth_principals/jdoe'), 'utf8')).toBe('jane.doe\n');
    expect(readFileSync(join(root, 'etc/cloudflared-access/tunnel.env'), 'utf8')).toBe(`TUNNEL_TOKEN=${token}\n`);
  });
});
