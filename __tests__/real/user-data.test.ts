// lib/user-data.ts with the real programs: the multipart user_data that extraCloudConfig makes,
// merged by cloud-init's own code, passes cloud-init's schema check, keeps every setting of
// ours, and sshd -T on the files it writes shows our drop-in winning.
import { mkdirSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { renderCloudInit } from '../../lib/cloud-init';
import { checkExtraCloudConfig, composeUserData } from '../../lib/user-data';
import { CA_KEY, TUNNEL_TOKEN } from '../fixtures';
import {
  cloudInitSchema, describeReal, makeTempDir, mergeWithCloudInit, NEEDS, newKeyPair, removeTempDirs, schemaAccepts, sshdEffectiveConfig,
  writeFile, writeFilesWithCloudInit, writeSshdConfig,
} from './helpers';

const ours = renderCloudInit({ caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN });
const extra = {
  packages: ['htop'],
  write_files: [{ path: '/opt/app/motd', content: 'managed by cdktf\n' }],
  timezone: 'Europe/Berlin',
};

/** `sshd -T` of Debian's stock sshd_config reading the drop-ins cloud-init wrote below `root`. */
function sshdEffectiveBelow(root: string, dir: string): Map<string, string[]> {
  return sshdEffectiveConfig(writeSshdConfig(root, {}), newKeyPair(dir, 'host').privateKey);
}

describeReal('extraCloudConfig under real cloud-init and sshd', [NEEDS.root, NEEDS.cloudInit, NEEDS.cloudInitModules, NEEDS.sshd, NEEDS.sshKeygen], () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('user-data');
  });
  afterEach(() => removeTempDirs());

  test('cloud-init merges their part after ours: their lists appended, our settings kept, schema valid', async () => {
    expect(checkExtraCloudConfig('extraCloudConfig', extra)).toEqual([]);
    const merged = mergeWithCloudInit(composeUserData(ours, extra), dir);
    const config = parse(merged);
    const alone = parse(ours);
    expect(config.ssh_pwauth).toBe(false);
    // no account from the image's defaults, theirs included: accounts come from the tags.
    expect(config.users).toEqual([]);
    expect(config.write_files).toEqual([...alone.write_files, extra.write_files[0]]);
    expect(config.runcmd).toEqual(alone.runcmd);
    expect(config).toMatchObject({ packages: ['htop'], timezone: 'Europe/Berlin' });
    for (const [name, text] of [['merged.yaml', merged], ['extra.yaml', `#cloud-config\n${JSON.stringify(extra)}\n`]]) {
      const schema = await cloudInitSchema(text, dir, name);
      // valid, or (cloud-init before 23.2) refused for users: [] only: see EMPTY_USERS_SCHEMA_BUG.
      expect({ name, accepted: schemaAccepts(schema), schema }).toMatchObject({ name, accepted: true });
    }
  });

  test('their lists come after ours: a runcmd (accepted only with the opt-in) runs after our setup', () => {
    const withRoot = { runcmd: ['echo extra > /var/tmp/extra-ran'] };
    expect(checkExtraCloudConfig('extraCloudConfig', withRoot, { runsAsRoot: true })).toEqual([expect.stringMatching(/runs as root at first boot/)]);
    expect(parse(mergeWithCloudInit(composeUserData(ours, withRoot), dir)).runcmd).toEqual([...parse(ours).runcmd, ...withRoot.runcmd]);
  });

  test('their scalar cannot replace ours: even an unchecked ssh_pwauth: true stays false', () => {
    const merged = parse(mergeWithCloudInit(composeUserData(ours, { ssh_pwauth: true }), dir));
    expect(merged.ssh_pwauth).toBe(false);
  });

  test('sshd -T on the files the merged config writes: our drop-in wins over DigitalOcean\'s 50-cloud-init.conf', () => {
    const root = join(dir, 'root');
    // what DigitalOcean's cloud-init writes when ssh_pwauth is on.
    writeFile(join(root, 'etc/ssh/sshd_config.d/50-cloud-init.conf'), 'PasswordAuthentication yes\n');
    writeFilesWithCloudInit(mergeWithCloudInit(composeUserData(ours, extra), dir), dir, root);
    // toMatchObject compares arrays whole: each keyword has exactly the one value.
    expect(Object.fromEntries(sshdEffectiveBelow(root, dir))).toMatchObject({
      passwordauthentication: ['no'], kbdinteractiveauthentication: ['no'], permitrootlogin: ['no'],
      authorizedkeysfile: ['none'], trustedusercakeys: ['/etc/ssh/ca.pub'],
    });
  });

  test('a file over our drop-in WOULD win in cloud-init (later write_files entries overwrite), which is why such paths are refused', () => {
    const hostile = { write_files: [{ path: '/etc/ssh/sshd_config.d/10-cloudflare-access.conf', content: 'PasswordAuthentication yes\n' }] };
    expect(() => checkExtraCloudConfig('extraCloudConfig', hostile)).toThrow(/write_files\[0\]\.path is refused: ".*" is not below \/opt\/, \/srv\//);
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFilesWithCloudInit(mergeWithCloudInit(composeUserData(ours, hostile), dir), dir, root);
    expect(sshdEffectiveBelow(root, dir).get('passwordauthentication')).toEqual(['yes']);
  });
});
