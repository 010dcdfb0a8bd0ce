// DigitalOcean refuses user_data over 64 KiB, and only at apply time: the renderer must refuse
// it first, with a message that says why, and everything it does render must stay valid.
import { CloudInit, renderCloudInit } from '../../lib/cloud-init';

const USER_DATA_LIMIT_BYTES = CloudInit.USER_DATA_LIMIT_BYTES;
import { AccessUserInput } from '../../lib/users';
import {
  cloudInitSchema, describeReal, fakeTunnelToken, makeTempDir, NEEDS, newKeyPair, KeyPair, options, parseCloudConfig,
  removeTempDirs,
} from './helpers';

const emails = (n: number): AccessUserInput[] => Array.from({ length: n }, (_, i) => `user${i}@example.com`);

describeReal('user_data size', [NEEDS.cloudInit, NEEDS.sshKeygen], () => {
  let dir: string;
  let ca: KeyPair;
  let token: string;
  const renderN = (n: number) => renderCloudInit(options(ca, token, { users: emails(n) }));

  beforeAll(() => {
    dir = makeTempDir('size');
    ca = newKeyPair(dir, 'access-ca');
    token = fakeTunnelToken();
  });
  afterAll(() => removeTempDirs());

  test('the limit is 64 KiB', () => {
    expect(USER_DATA_LIMIT_BYTES).toBe(65536);
  });

  test('fails for thousands of users, naming the limit and the user count', () => {
    expect(() => renderN(3000)).toThrow(/65536-byte limit/);
    expect(() => renderN(3000)).toThrow(/for 3000 users/);
    expect(() => renderN(3000)).toThrow(/split the users across droplets/);
  });

  test('the most users that fit render, stay under the limit, and cloud-init accepts them', async () => {
    // the largest n that renders, by bisection: n = 1 fits, n = 3000 does not.
    let lo = 1;
    let hi = 3000;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      try {
        renderN(mid);
        lo = mid;
      } catch {
        hi = mid;
      }
    }
    expect(() => renderN(lo + 1)).toThrow(/65536-byte limit/);
    const text = renderN(lo);
    const bytes = Buffer.byteLength(text, 'utf8');
    expect(bytes).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    // not needlessly strict: the next user is what would cross the limit.
    const perUser = Buffer.byteLength(renderN(2), 'utf8') - Buffer.byteLength(renderN(1), 'utf8');
    expect(bytes + 2 * perUser).toBeGreaterThan(USER_DATA_LIMIT_BYTES);

    const cfg = parseCloudConfig(text);
    expect(cfg.users).toHaveLength(lo);
    expect(cfg.write_files.filter((f) => f.path.startsWith('/etc/ssh/auth_principals/'))).toHaveLength(lo);
    const r = await cloudInitSchema(text, dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Valid cloud-config: /);
    expect(r.status).toBe(0);
  });
});
