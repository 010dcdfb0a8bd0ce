// issue 11 item 6 with the real programs: the multipart user_data that extraCloudConfig makes,
// merged by cloud-init's own code, passes cloud-init's schema check, keeps every setting of
// ours, and sshd -T on the files it writes shows our drop-in winning.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { parse } from 'yaml';
import { renderCloudInit } from '../../lib/cloud-init';
import { checkExtraCloudConfig, composeUserData } from '../../lib/user-data';
import { CA_KEY, TUNNEL_TOKEN } from '../fixtures';
import { CLOUD_INIT, describeWithPrograms, mergeWithCloudInit, runOk, SSHD, sshdEffective, writeFilesWithCloudInit } from './real-programs';

const ours = renderCloudInit({ caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN, users: ['srhea@cloudflare.com'] });
const extra = {
  packages: ['htop'],
  write_files: [{ path: '/etc/motd', content: 'managed by cdktf\n' }],
  runcmd: ['echo extra > /var/tmp/extra-ran'],
  timezone: 'Europe/Berlin',
};

describeWithPrograms('extraCloudConfig under real cloud-init and sshd', [CLOUD_INIT, SSHD], () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'day2-extra-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('cloud-init merges their part after ours: their lists appended, our settings kept, schema valid', () => {
    checkExtraCloudConfig('extraCloudConfig', extra);
    const merged = mergeWithCloudInit(composeUserData(ours, extra), dir);
    const config = parse(merged);
    const alone = parse(ours);
    expect(config.ssh_pwauth).toBe(false);
    expect(config.users).toEqual(alone.users);
    expect(config.write_files).toEqual([...alone.write_files, extra.write_files[0]]);
    expect(config.runcmd).toEqual([...alone.runcmd, ...extra.runcmd]);
    expect(config).toMatchObject({ packages: ['htop'], timezone: 'Europe/Berlin' });
    const file = join(dir, 'merged.yaml');
    writeFileSync(file, merged);
    expect(runOk(CLOUD_INIT, ['schema', '-c', file])).toMatch(/Valid cloud-config/);
    const part = join(dir, 'extra.yaml');
    writeFileSync(part, `#cloud-config\n${JSON.stringify(extra)}\n`);
    expect(runOk(CLOUD_INIT, ['schema', '-c', part])).toMatch(/Valid cloud-config/);
  });

  test('their scalar cannot replace ours: even an unchecked ssh_pwauth: true stays false', () => {
    const merged = parse(mergeWithCloudInit(composeUserData(ours, { ssh_pwauth: true }), dir));
    expect(merged.ssh_pwauth).toBe(false);
  });

  test('sshd -T on the files the merged config writes: our drop-in wins over DigitalOcean\'s 50-cloud-init.conf', () => {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'etc', 'ssh', 'sshd_config.d'), { recursive: true });
    // what DigitalOcean's cloud-init writes when ssh_pwauth is on.
    writeFileSync(join(root, 'etc', 'ssh', 'sshd_config.d', '50-cloud-init.conf'), 'PasswordAuthentication yes\n');
    writeFilesWithCloudInit(mergeWithCloudInit(composeUserData(ours, extra), dir), dir, root);
    const t = sshdEffective(root, dir);
    expect(t.get('passwordauthentication')).toBe('no');
    expect(t.get('kbdinteractiveauthentication')).toBe('no');
    expect(t.get('permitrootlogin')).toBe('no');
    expect(t.get('authorizedkeysfile')).toBe('none');
    expect(t.get('trustedusercakeys')).toBe('/etc/ssh/ca.pub');
  });

  test('a file over our drop-in WOULD win in cloud-init (later write_files entries overwrite), which is why such paths are refused', () => {
    const hostile = { write_files: [{ path: '/etc/ssh/sshd_config.d/10-cloudflare-access.conf', content: 'PasswordAuthentication yes\n' }] };
    expect(() => checkExtraCloudConfig('extraCloudConfig', hostile)).toThrow(/write_files\[0\]\.path .* is refused/);
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFilesWithCloudInit(mergeWithCloudInit(composeUserData(ours, hostile), dir), dir, root);
    expect(sshdEffective(root, dir).get('passwordauthentication')).toBe('yes');
  });
}, true);
