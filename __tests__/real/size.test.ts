// what limits a host now. user_data (DigitalOcean refuses it over 64 KiB, and only at apply time)
// no longer holds users, so it does not grow with them: its size is fixed by the options, and
// extraCloudConfig gets the room that is left. The account list travels in the droplet's tags, at
// most 99 tags of 200 payload characters: about a hundred people per host. The renderer and the
// constructs refuse one person more, naming the fix, and the real accounts agent applies the
// largest list that fits, in a private namespace (helpers/host.ts); it logs how long that took.
import { join } from 'path';
import { Testing } from 'cdktf';
import { AccessDroplet } from '../../lib';
import { ACCOUNT_TAG_MAX_CHUNKS, decodeAccountTags } from '../../lib/account-tags';
import { CloudInit, renderAccountTags, renderCloudInit } from '../../lib/cloud-init';
import { composeUserData } from '../../lib/user-data';
import { AccessUserInput } from '../../lib/users';
import { minimalProps, resourcesOf } from '../fixtures';
import {
  AGENT_STATE, cloudInitSchemaMany, describeReal, fakeTunnelToken, HostNamespace, KeyPair, makeTempDir, mergeWithCloudInit, NEEDS,
  NEEDS_HOST, newKeyPair, options, PYTHON, removeTempDirs, ROOT, startHostNamespace, stopHostNamespaces, TagServer, TOOLS,
} from './helpers';

const USER_DATA_LIMIT_BYTES = CloudInit.USER_DATA_LIMIT_BYTES;
const AGENT = join(ROOT, 'cloud-init', 'accounts');

/**
 * n people as an organisation lists them: dotted addresses, their own Unix names, every tenth
 * with sudo, every third in a team group; `long` gives addresses of 50 characters.
 */
const people = (n: number, long = false): AccessUserInput[] => Array.from({ length: n }, (_, i) => ({
  email: long ? `firstname.lastname-${i}@engineering.example-company.com` : `jane.doe${i}@example.com`,
  unixName: `jdoe${i}`,
  sudo: i % 10 === 0,
  groups: i % 3 === 0 ? ['www-data', 'deploy-team'] : [],
}));

/** the largest n for which `fits(n)`, by bisection; fits(lo) holds and fits(hi) does not. */
function largest(fits: (n: number) => boolean, lo: number, hi: number): number {
  expect([fits(lo), fits(hi)]).toEqual([true, false]);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
const fitsInTags = (n: number, long = false) => {
  try {
    renderAccountTags({ users: people(n, long) });
    return true;
  } catch {
    return false;
  }
};

describeReal('user_data size: fixed by the options, not the users', [NEEDS.cloudInit, NEEDS.cloudInitModules, NEEDS.sshKeygen], () => {
  let dir: string;
  let ca: KeyPair;
  let token: string;

  beforeAll(() => {
    dir = makeTempDir('size');
    ca = newKeyPair(dir, 'access-ca');
    token = fakeTunnelToken();
  });
  afterAll(() => removeTempDirs());

  test('the limit is 64 KiB', () => {
    expect(USER_DATA_LIMIT_BYTES).toBe(65536);
  });

  test('a droplet\'s user_data is the same bytes for one person and for the most that fit', () => {
    const userData = (users: AccessUserInput[]) =>
      resourcesOf(Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, users })), 'digitalocean_droplet')[0].user_data as string;
    const most = largest(fitsInTags, 1, 400);
    expect(userData(people(most))).toBe(userData(people(1)));
  });

  test('the largest cloud-config (every switch that adds text) leaves more than a quarter of the limit to extraCloudConfig, and cloud-init accepts it', () => {
    const texts = [options(ca, token), options(ca, token, { allowPortForwarding: true }), options(ca, token, { restrictMetadataService: false })]
      .map((o) => renderCloudInit(o));
    const sizes = texts.map((t) => Buffer.byteLength(t, 'utf8'));
    expect(Math.max(...sizes)).toBe(sizes[1]);
    // about 47 KB with the accounts agent and the cloudflared updater (both gzipped) and the guard's
    // allow drop-ins, so about 17 KB left.
    expect(sizes[1]).toBeLessThan(USER_DATA_LIMIT_BYTES * 3 / 4);
    expect(cloudInitSchemaMany([texts[1]], dir)[0].valid).toBe(true);
  });

  test('extraCloudConfig gets the rest: the largest that fits is accepted and merged by cloud-init; one byte more fails, naming it', () => {
    const fits = (bytes: number) => {
      try {
        Testing.synthScope((s) => new AccessDroplet(s, 'Test', {
          ...minimalProps, extraCloudConfig: { write_files: [{ path: '/opt/app/blob', content: 'x'.repeat(bytes) }] },
        }));
        return true;
      } catch (e) {
        expect((e as Error).message).toMatch(/^extraCloudConfig makes user_data about \d+ bytes, over DigitalOcean's limit of 65536; make it smaller$/);
        return false;
      }
    };
    const most = largest(fits, 1, USER_DATA_LIMIT_BYTES);
    // the room is most of the limit, less ours and the 2 KiB kept for the CA key and the token.
    const ours = Buffer.byteLength(renderCloudInit(options(ca, token)), 'utf8');
    expect(most).toBeGreaterThan(USER_DATA_LIMIT_BYTES - ours - 4096);
    // the same config with literal values, as the droplet receives it: within the limit, and cloud-init takes it.
    const composed = composeUserData(renderCloudInit(options(ca, token)), { write_files: [{ path: '/opt/app/blob', content: 'x'.repeat(most) }] });
    expect(Buffer.byteLength(composed, 'utf8')).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    const merged = mergeWithCloudInit(composed, dir);
    expect(merged).toContain('x'.repeat(most));
    expect(cloudInitSchemaMany([merged], dir)[0].valid).toBe(true);
  });
});

describe('the tags\' capacity: about a hundred people per host', () => {
  test('the most people that fit fill nearly all 99 tags of 255 characters at most, each a valid DigitalOcean tag', () => {
    const most = largest(fitsInTags, 1, 400);
    const mostLong = largest((n) => fitsInTags(n, true), 1, 400);
    console.log(`one host's tags hold ${most} people with addresses like jane.doe1@example.com, ${mostLong} with addresses of 50 characters`);
    // "about a hundred" (README); fewer when the addresses are long.
    expect(most).toBeGreaterThanOrEqual(90);
    expect(most).toBeLessThanOrEqual(150);
    expect(mostLong).toBeLessThan(most);
    expect(mostLong).toBeGreaterThanOrEqual(60);
    for (const [n, long] of [[most, false], [mostLong, true]] as const) {
      const tags = renderAccountTags({ users: people(n, long) });
      expect(tags.length).toBeGreaterThan(ACCOUNT_TAG_MAX_CHUNKS - 3);
      expect(tags.length).toBeLessThanOrEqual(ACCOUNT_TAG_MAX_CHUNKS);
      // DigitalOcean: letters, numbers, colons, dashes and underscores, 255 characters at most.
      for (const t of tags) expect(t).toMatch(/^[a-z0-9:]{1,255}$/);
      const decoded = decodeAccountTags(tags);
      expect('accounts' in decoded && decoded.accounts.length).toBe(n);
    }
  });

  test('fails for one person more, in the renderer and in the construct, naming the fix', () => {
    const most = largest(fitsInTags, 1, 400);
    expect(() => renderAccountTags({ users: people(most + 1) }))
      .toThrow(new RegExp(`the account list of ${most + 1} accounts needs \\d+ tags of 200 characters, over the 99 a generation can have; put fewer users on this host`));
    expect(() => Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, users: people(most + 1) })))
      .toThrow(/split the users across droplets/);
  });
});

describeReal('the accounts agent on the largest tag list', NEEDS_HOST, () => {
  let dir: string;
  let ns: HostNamespace;
  let server: TagServer;
  let url: string;
  let most: number;

  beforeAll(async () => {
    dir = makeTempDir('size-agent');
    ns = await startHostNamespace(dir);
    server = new TagServer();
    url = await server.listen();
    most = largest(fitsInTags, 1, 400);
    server.tags = ['access-droplet-example', ...renderAccountTags({ users: people(most) })];
  });
  afterAll(async () => {
    stopHostNamespaces();
    await server?.close();
    removeTempDirs();
  });

  test('creates every account, principals file and sudo rule, once; a second pass changes nothing', async () => {
    const started = Date.now();
    const first = await ns.runAsync(PYTHON, [AGENT, '--once', '--metadata-url', url], 300000);
    const took = Date.now() - started;
    expect({ status: first.status, errors: first.stderr.split('\n').filter((l) => /error|refused|skipped|failed/i.test(l)) }).toEqual({ status: 0, errors: [] });
    console.log(`the accounts agent applied ${most} accounts from ${server.tags.length - 1} tags in ${took} ms`);
    const state = JSON.parse(ns.read(AGENT_STATE)!) as { accounts: Record<string, unknown>; groups: Record<string, unknown> };
    const names = people(most).map((p) => (p as { unixName: string }).unixName);
    expect(Object.keys(state.accounts).sort()).toEqual([...names].sort());
    expect(Object.keys(state.groups)).toEqual(['deploy-team']);
    expect(ns.list('/etc/ssh/auth_principals')).toEqual([...names].sort());
    expect(ns.read(`/etc/ssh/auth_principals/${names[most - 1]}`)).toBe(`jane.doe${most - 1}\n`);
    const rules = ns.read('/etc/sudoers.d/90-cdktf-access')!.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(rules).toEqual(names.filter((_, i) => i % 10 === 0).sort().map((n) => `${n} ALL=(ALL) NOPASSWD:ALL`));
    expect(ns.run(TOOLS.visudo, ['-c', '-f', '/etc/sudoers.d/90-cdktf-access']).status).toBe(0);
    // a timer pass that finds nothing to do is quick and quiet.
    const again = Date.now();
    const second = await ns.runAsync(PYTHON, [AGENT, '--once', '--metadata-url', url], 60000);
    expect({ status: second.status, stderr: second.stderr }).toEqual({ status: 0, stderr: '' });
    expect(Date.now() - again).toBeLessThan(15000);
  }, 360000);
});
