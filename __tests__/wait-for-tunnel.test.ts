// the readiness poller runs as a real child process against a fake Cloudflare API on 127.0.0.1,
// exactly as the local-exec provisioner runs it: no argv, everything from the environment.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';

const SCRIPT = path.join(__dirname, '..', 'assets', 'wait-for-tunnel.js');
const TOKEN = 'cf-test-token-0123456789-SECRET';
const ACCOUNT = '0123456789abcdef0123456789abcdef';
const TUNNEL = 'c2a4b1e0-1111-4a2b-9c3d-123456789abc';
const TUNNEL_PATH = `/client/v4/accounts/${ACCOUNT}/cfd_tunnel/${TUNNEL}`;

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly at: number;
}

interface Reply {
  readonly status?: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** never answer, to exercise the per-request timeout. */
  readonly hang?: boolean;
}

interface FakeApi {
  readonly base: string;
  readonly requests: SeenRequest[];
  /** the script's pid; while it waits on a response, its /proc/PID/cmdline is read into `cmdline`. */
  pid?: number;
  cmdline?: string;
  /** requests for the tunnel itself, without the /connections confirmations. */
  tunnelRequests(): SeenRequest[];
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly spawnargs: string[];
  /** /proc/PID/cmdline, read while the script was running (linux only). */
  readonly cmdline?: string;
}

const servers: http.Server[] = [];

afterEach(async () => {
  // the hanging-server test leaves a socket open; close it so jest sees no open handles.
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

function ok(result: unknown): Reply {
  return { status: 200, body: { success: true, errors: [], messages: [], result } };
}

function tunnel(status: string | undefined, extra: Record<string, unknown> = {}): Reply {
  return ok({ id: TUNNEL, account_tag: ACCOUNT, name: 'demo-tunnel', status, deleted_at: null, ...extra });
}

function conn(colo: string, pending = false) {
  return { id: `conn-${colo}`, colo_name: colo, is_pending_reconnect: pending, origin_ip: '203.0.113.7' };
}

const LIVE = ok([{ id: 'client-1', version: '2025.4.0', conns: [conn('ams01'), conn('fra06'), conn('ams01')] }]);

function failure(status: number, code: number, message: string, headers?: Record<string, string>): Reply {
  return { status, headers, body: { success: false, errors: [{ code, message }], messages: [], result: null } };
}

/**
 * Starts a fake Cloudflare API. `tunnelReplies` answers the n-th tunnel GET (the last one repeats);
 * `connectionReplies` does the same for `/connections`; anything else is a 404 "no route".
 */
async function fakeApi(tunnelReplies: Reply[], connectionReplies: Reply[] = [LIVE]): Promise<FakeApi> {
  const requests: SeenRequest[] = [];
  let t = 0;
  let c = 0;
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: Date.now() });
    // the script is blocked on this very request, so it is certainly still alive to be inspected.
    if (api.pid !== undefined && api.cmdline === undefined && fs.existsSync(`/proc/${api.pid}/cmdline`)) {
      api.cmdline = fs.readFileSync(`/proc/${api.pid}/cmdline`, 'utf8');
    }
    let reply: Reply;
    if (req.url === TUNNEL_PATH) reply = tunnelReplies[Math.min(t++, tunnelReplies.length - 1)];
    else if (req.url === `${TUNNEL_PATH}/connections`) reply = connectionReplies[Math.min(c++, connectionReplies.length - 1)];
    else reply = failure(404, 7000, 'No route for that URI');
    if (reply.hang) return;
    res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', ...reply.headers });
    res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {}));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const api: FakeApi = {
    base: `http://127.0.0.1:${port}/client/v4`,
    requests,
    tunnelRequests: () => requests.filter((r) => r.url === TUNNEL_PATH),
  };
  return api;
}

function baseEnv(api: FakeApi | undefined, overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    CLOUDFLARE_API_TOKEN: TOKEN,
    CF_ACCOUNT_ID: ACCOUNT,
    CF_TUNNEL_ID: TUNNEL,
    CF_API_BASE: api?.base,
    WAIT_TIMEOUT_SEC: '5',
    WAIT_INTERVAL_SEC: '0.05',
    WAIT_HOSTNAME: 'ssh.example.com',
    ...overrides,
  };
}

/** Runs the script with exactly these variables (plus PATH), never inheriting a real token. */
function run(vars: Record<string, string | undefined>, api?: FakeApi): Promise<Run> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(vars)) if (v !== undefined) env[k] = v;
  const started = Date.now();
  const child = spawn(process.execPath, [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (api) api.pid = child.pid;
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started, spawnargs: child.spawnargs, cmdline: api?.cmdline }));
  });
}

function expectNoToken(r: Run) {
  expect(r.stdout).not.toContain(TOKEN);
  expect(r.stderr).not.toContain(TOKEN);
  expect(r.spawnargs.join(' ')).not.toContain(TOKEN);
  if (r.cmdline !== undefined) expect(r.cmdline).not.toContain(TOKEN);
}

describe('wait-for-tunnel', () => {
  test('exits 0 with one line when the tunnel is healthy at once', async () => {
    const api = await fakeApi([tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stdout).toMatch(/tunnel c2a4b1e0-.* \(ssh\.example\.com\) is healthy with 3 connections \(ams01, fra06\) after [\d.]+s\n$/);
    expect(api.requests.map((q) => q.url)).toEqual([TUNNEL_PATH, `${TUNNEL_PATH}/connections`]);
    expectNoToken(r);
  });

  test('sends the token from the environment as a bearer header to the account and tunnel path', async () => {
    const api = await fakeApi([tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    for (const q of api.requests) {
      expect(q.method).toBe('GET');
      expect(q.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
    expect(api.requests[0].url).toBe(`/client/v4/accounts/${ACCOUNT}/cfd_tunnel/${TUNNEL}`);
    // no argv at all: the token can only have come from CLOUDFLARE_API_TOKEN.
    expect(r.spawnargs).toEqual([process.execPath, SCRIPT]);
    if (process.platform === 'linux') expect(r.cmdline?.split('\0').filter(Boolean)).toEqual([process.execPath, SCRIPT]);
    expectNoToken(r);
  });

  test('tolerates a trailing slash on CF_API_BASE', async () => {
    const api = await fakeApi([tunnel('healthy')]);
    const r = await run(baseEnv(api, { CF_API_BASE: `${api.base}/` }), api);

    expect(r.code).toBe(0);
    expect(api.requests[0].url).toBe(TUNNEL_PATH);
  });

  test('waits through inactive and degraded until healthy', async () => {
    const api = await fakeApi([tunnel('inactive'), tunnel('inactive'), tunnel('degraded'), tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    expect(api.tunnelRequests()).toHaveLength(4);
    expect(r.stderr).toMatch(/status inactive: the connector has never connected/);
    expect(r.stderr).toMatch(/status degraded/);
    // a status is announced once, not on every poll.
    expect(r.stderr.match(/status inactive/g)).toHaveLength(1);
    const t = api.tunnelRequests().map((q) => q.at);
    for (let i = 1; i < t.length; i++) expect(t[i] - t[i - 1]).toBeGreaterThanOrEqual(40);
    expectNoToken(r);
  });

  test('keeps waiting while a healthy status has no live connections yet', async () => {
    const pending = ok([{ id: 'client-1', conns: [conn('ams01', true)] }]);
    const api = await fakeApi([tunnel('healthy')], [ok([]), pending, LIVE]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    expect(api.tunnelRequests()).toHaveLength(3);
    expect(r.stderr).toMatch(/no connections listed yet/);
    expect(r.stderr).toMatch(/all connections pending reconnect/);
  });

  test('trusts a healthy status when the connections answer lacks the expected fields', async () => {
    const api = await fakeApi([tunnel('healthy')], [ok({ unexpected: true })]);
    const r = await run(baseEnv(api, { WAIT_HOSTNAME: undefined }), api);

    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wait-for-tunnel: tunnel c2a4b1e0-[^ ]+ is healthy after [\d.]+s\n$/);
  });

  describe('WAIT_SINCE: a replacement droplet is waited for while the old one keeps the tunnel healthy', () => {
    const SINCE = '2026-12-01T10:00:00Z';
    const client = (id: string, runAt: string | undefined, conns = [conn('ams01')]) => ({ id, ...(runAt ? { run_at: runAt } : {}), conns });
    const old = client('old-droplet', '2026-11-30T08:00:00Z');
    const fresh = client('new-droplet', '2026-12-01T10:01:30Z', [conn('fra06')]);

    test('the old droplet\'s connector alone does not count; the new one does', async () => {
      const api = await fakeApi([tunnel('healthy')], [ok([old]), ok([old]), ok([old, fresh])]);
      const r = await run(baseEnv(api, { WAIT_SINCE: SINCE }), api);

      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/only connectors that started before 2026-12-01T10:00:00\.000Z: the droplet this one replaces/);
      // counted: the new connector's one connection, not the old one's.
      expect(r.stdout).toMatch(/is healthy with 1 connection \(fra06\)/);
      expect(api.tunnelRequests()).toHaveLength(3);
    });

    test('times out (exit 1) when only the old connector is ever there, which fails the deploy before the old droplet goes', async () => {
      const api = await fakeApi([tunnel('healthy')], [ok([old])]);
      const r = await run(baseEnv(api, { WAIT_SINCE: SINCE, WAIT_TIMEOUT_SEC: '0.5' }), api);

      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the droplet this one replaces/);
    });

    test('a connector without run_at counts by its connections\' opened_at; one that says neither never counts', async () => {
      const opened = { id: 'new', conns: [{ ...conn('lhr01'), opened_at: '2026-12-01T10:02:00Z' }] };
      const silent = client('unknown', undefined);
      const a = await fakeApi([tunnel('healthy')], [ok([silent, opened])]);
      const ra = await run(baseEnv(a, { WAIT_SINCE: SINCE }), a);
      expect(ra.code).toBe(0);
      expect(ra.stdout).toMatch(/with 1 connection \(lhr01\)/);

      const b = await fakeApi([tunnel('healthy')], [ok([silent])]);
      const rb = await run(baseEnv(b, { WAIT_SINCE: SINCE, WAIT_TIMEOUT_SEC: '0.5' }), b);
      expect(rb.code).toBe(1);
    });

    test('a connections answer it cannot read is not taken as ready (without WAIT_SINCE it is)', async () => {
      const api = await fakeApi([tunnel('healthy')], [ok({ unexpected: true })]);
      const r = await run(baseEnv(api, { WAIT_SINCE: SINCE, WAIT_TIMEOUT_SEC: '0.5' }), api);

      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/connections unreadable: cannot tell a new connector from the old/);
    });

    test.each(['yesterday', '2026-12-01', '2026-12-01 10:00:00', '${digitalocean_droplet.x.created_at}', '2026-13-45T99:00:00Z'])(
      'fails with exit 2 on WAIT_SINCE=%s', async (value) => {
        const r = await run(baseEnv(undefined, { CF_API_BASE: 'http://127.0.0.1:9', WAIT_SINCE: value }));

        expect(r.code).toBe(2);
        expect(r.stderr).toContain(`WAIT_SINCE must be an RFC 3339 time such as 2026-01-25T18:22:34Z, got "${value}"`);
      });
  });

  test('treats a missing status as not ready rather than crashing', async () => {
    const api = await fakeApi([ok(null), tunnel(undefined), tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/status unknown/);
  });

  test('fails with exit 1 within the timeout when the tunnel never becomes healthy', async () => {
    const api = await fakeApi([tunnel('inactive')]);
    const r = await run(baseEnv(api, { WAIT_TIMEOUT_SEC: '0.6' }), api);

    expect(r.code).toBe(1);
    expect(r.ms).toBeGreaterThanOrEqual(600);
    // generous slack for node start-up on a busy machine; an unbounded wait would never end.
    expect(r.ms).toBeLessThan(2000);
    expect(api.tunnelRequests().length).toBeGreaterThan(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/gave up after 0\.6s \(WAIT_TIMEOUT_SEC=0\.6\)/);
    expect(r.stderr).toMatch(/last status "inactive"/);
    expect(r.stderr).toContain('journalctl -u cloudflared-access');
    expect(r.stderr).toContain('cloud-init status --long');
    expectNoToken(r);
  });

  test('bounds each request by the remaining time when the API never answers', async () => {
    const api = await fakeApi([{ hang: true }]);
    const r = await run(baseEnv(api, { WAIT_TIMEOUT_SEC: '0.5' }), api);

    expect(r.code).toBe(1);
    // without the bound the request would hang until jest gives up; the margin is for node's
    // start-up on a loaded machine (it took over 2 s there), not for the wait.
    expect(r.ms).toBeLessThan(5000);
    expect(r.stderr).toMatch(/no response within/);
    expect(r.stderr).toMatch(/no status was read/);
  });

  test('retries HTTP 500 with growing backoff until healthy', async () => {
    const err = failure(500, 10002, 'internal error');
    const api = await fakeApi([err, err, err, tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    expect(api.tunnelRequests()).toHaveLength(4);
    expect(r.stderr).toMatch(/HTTP 500: \[10002\] internal error; retrying in/);
    const t = api.tunnelRequests().map((q) => q.at);
    // 0.05 s, 0.1 s, 0.2 s: the third wait is clearly longer than the first.
    expect(t[3] - t[2]).toBeGreaterThanOrEqual(180);
    expect(t[3] - t[2]).toBeGreaterThan(t[1] - t[0]);
  });

  test('honours Retry-After on HTTP 429', async () => {
    const api = await fakeApi([failure(429, 971, 'Please wait and consider throttling your request speed', { 'Retry-After': '1' }), tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    const t = api.tunnelRequests().map((q) => q.at);
    expect(t).toHaveLength(2);
    expect(t[1] - t[0]).toBeGreaterThanOrEqual(950);
    expect(r.stderr).toMatch(/HTTP 429.*retrying in 1s/);
  });

  test('retries network errors until the timeout and says the API was never reached', async () => {
    // a port that was just free: nothing listens, so every connect is refused.
    const api = await fakeApi([tunnel('healthy')]);
    const closed = servers.pop()!;
    closed.close();
    const r = await run(baseEnv(api, { WAIT_TIMEOUT_SEC: '0.4' }));

    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).toMatch(/check that this machine reaches http:\/\/127\.0\.0\.1:\d+/);
  });

  test.each([
    ['401', failure(401, 10000, `Authentication error for ${TOKEN}`)],
    ['403', failure(403, 9109, 'Unauthorized to access requested resource')],
    ['400 with an auth error code', failure(400, 6003, 'Invalid request headers')],
  ])('fails at once with exit 2 naming the permission on %s, without printing the token', async (name, reply) => {
    const api = await fakeApi([reply]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(2);
    expect(api.requests).toHaveLength(1);
    expect(r.ms).toBeLessThan(1500);
    expect(r.stderr).toContain('Account › Cloudflare Tunnel › Read (or Edit)');
    expect(r.stderr).toMatch(/rejected CLOUDFLARE_API_TOKEN/);
    expect(r.stdout).toBe('');
    // the fake server echoes the token in its 401 message; it must come out redacted.
    if (name === '401') expect(r.stderr).toContain('Authentication error for ***');
    expectNoToken(r);
  });

  test('fails with exit 2 when the tunnel does not exist', async () => {
    const api = await fakeApi([failure(404, 1003, 'Tunnel not found')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(2);
    expect(api.requests).toHaveLength(1);
    expect(r.stderr).toMatch(/tunnel c2a4b1e0-[^ ]+ was not found in account 0123456789abcdef0123456789abcdef/);
    expect(r.stderr).toMatch(/check CF_ACCOUNT_ID and CF_TUNNEL_ID/);
    expectNoToken(r);
  });

  test('fails with exit 2 when the tunnel was deleted', async () => {
    const api = await fakeApi([tunnel('inactive', { deleted_at: '2026-01-01T00:00:00Z' })]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/was deleted/);
  });

  test('fails with exit 2 on another client error instead of retrying it', async () => {
    const api = await fakeApi([failure(400, 7003, 'Could not route to /accounts, perhaps your object identifier is invalid?')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(2);
    expect(api.requests).toHaveLength(1);
    expect(r.stderr).toMatch(/HTTP 400: \[7003\] Could not route/);
  });

  test('prints API error text with control characters escaped: no forged lines, no terminal escapes', async () => {
    const hostile = 'bad\u001b[2J\u001b[31m\rwait-for-tunnel: tunnel is healthy\nforged\u0007\u009b1m\u2028\u202e';
    const api = await fakeApi([failure(400, 7003, hostile)]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(2);
    // two lines, both ours: the start, then the error, whatever the API put in its text.
    const lines = r.stderr.split('\n').filter((l) => l);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^wait-for-tunnel: the Cloudflare API answered HTTP 400: \[7003\] bad/);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
    expect(r.stderr).toContain('bad\\u001b[2J\\u001b[31m\\u000dwait-for-tunnel: tunnel is healthy\\u000aforged\\u0007\\u009b1m\\u2028\\u202e');
  });

  test('escapes control characters in a status the API sends while waiting', async () => {
    const api = await fakeApi([tunnel('inactive\u001b]0;pwned\u0007'), tunnel('healthy')]);
    const r = await run(baseEnv(api), api);

    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\u001b|\u0007/);
    expect(r.stderr).toContain('status inactive\\u001b]0;pwned\\u0007');
  });

  test.each(['CLOUDFLARE_API_TOKEN', 'CF_ACCOUNT_ID', 'CF_TUNNEL_ID'])('fails with exit 2 naming %s when it is missing', async (name) => {
    const api = await fakeApi([tunnel('healthy')]);
    for (const value of [undefined, '']) {
      const r = await run(baseEnv(api, { [name]: value }), api);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^wait-for-tunnel: ${name} is not set`));
    }
    expect(api.requests).toHaveLength(0);
  });

  test.each([
    ['WAIT_TIMEOUT_SEC', '10s'],
    ['WAIT_TIMEOUT_SEC', '0'],
    ['WAIT_INTERVAL_SEC', 'abc'],
    ['WAIT_INTERVAL_SEC', '-1'],
  ])('fails with exit 2 naming %s=%s', async (name, value) => {
    const r = await run(baseEnv(undefined, { CF_API_BASE: 'http://127.0.0.1:9', [name]: value }));

    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${name} must be a positive number of seconds, got "${value}"`);
  });

  test.each([
    ['CF_ACCOUNT_ID', '../../zones'],
    ['CF_TUNNEL_ID', '${TfToken[TOKEN.1]}'],
  ])('fails with exit 2 when %s is not an id', async (name, value) => {
    const r = await run(baseEnv(undefined, { CF_API_BASE: 'http://127.0.0.1:9', [name]: value }));

    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${name} must be a Cloudflare id`);
  });

  test('fails with exit 2 rather than send the token over plain http to another host', async () => {
    const r = await run(baseEnv(undefined, { CF_API_BASE: 'http://api.example.com/client/v4' }));

    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CF_API_BASE must be an https:\/\/ URL/);
  });

  test('fails with exit 2 on a token with a newline, without printing it', async () => {
    const r = await run(baseEnv(undefined, { CF_API_BASE: 'http://127.0.0.1:9', CLOUDFLARE_API_TOKEN: `${TOKEN}\nmore` }));

    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLOUDFLARE_API_TOKEN contains spaces or non-printable characters/);
    expectNoToken(r);
  });
});
