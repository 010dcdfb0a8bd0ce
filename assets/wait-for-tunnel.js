#!/usr/bin/env node
// written by cdktf-access-droplet: waits until a Cloudflare Tunnel reports healthy connections.
//
// it runs from a Terraform local-exec provisioner on the machine that runs `cdktf deploy`, so that
// the deploy returns only once the droplet's cloudflared has connected. Every input comes from
// the environment, never from argv: /proc/PID/cmdline is readable by every local user.
//
//   CLOUDFLARE_API_TOKEN  required; the same variable the Cloudflare Terraform provider reads
//   CF_ACCOUNT_ID         required
//   CF_TUNNEL_ID          required
//   CF_API_BASE           default https://api.cloudflare.com/client/v4 (http only for loopback)
//   WAIT_TIMEOUT_SEC      default 600; fractions allowed
//   WAIT_INTERVAL_SEC     default 10; fractions allowed
//   WAIT_HOSTNAME         optional; only used in messages
//   WAIT_SINCE            optional RFC 3339 time (the droplet's created_at): only connectors that
//                         started at or after it count, so a replacement droplet is waited for
//                         even while the droplet it replaces still holds the tunnel healthy
//
// exit codes: 0 healthy (one line on stdout), 1 timed out, 2 an error that retrying cannot fix
// (bad input, token rejected, tunnel not found, unexpected client error). Progress goes to stderr.
//
// plain CommonJS with no dependencies, for Node >= 18: it runs from the construct's package
// directory without a build step or node_modules of its own.
'use strict';

const http = require('http');
const https = require('https');

const NAME = 'wait-for-tunnel';
const DEFAULT_API_BASE = 'https://api.cloudflare.com/client/v4';
const REQUEST_TIMEOUT_MS = 15000;
// a misbehaving proxy must not make us buffer an endless body.
const MAX_BODY_BYTES = 1024 * 1024;
// backoff for failing requests grows from the poll interval up to this, or the interval if larger.
const MAX_BACKOFF_MS = 60000;
const PERMISSION = 'Account › Cloudflare Tunnel › Read (or Edit)';
// cloudflare error codes that mean the token itself is missing, malformed, invalid or lacks scope;
// some come with HTTP 400 rather than 401/403.
const AUTH_ERROR_CODES = new Set([6003, 6100, 6101, 6102, 6103, 6111, 9103, 9106, 9109, 10000, 10001]);

const EXIT_HEALTHY = 0;
const EXIT_TIMEOUT = 1;
const EXIT_FATAL = 2;

const STATUS_HINTS = {
  inactive: 'the connector has never connected; the droplet is probably still booting or installing cloudflared',
  down: 'the connector was connected before but has no connections now',
  degraded: 'the connector is up but some of its connections are failing',
  healthy: 'healthy',
};

let secret = '';

/** Replaces the token wherever it appears, so no message, body excerpt or error can leak it. */
function redact(text) {
  let out = String(text);
  if (secret) out = out.split(secret).join('***');
  return out;
}

/**
 * Shows control characters (C0, DEL, C1, Unicode line separators and bidi overrides) as escapes:
 * API text is printed as received, and a hostile or intercepted API must not forge log lines
 * (a newline, a carriage return) or send the terminal escape sequences.
 */
function printable(text) {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function log(line) {
  process.stderr.write(`${NAME}: ${printable(redact(line))}\n`);
}

class Fatal extends Error {}

function fmtSec(ms) {
  const s = Math.max(0, ms) / 1000;
  return s < 10 ? `${Math.round(s * 10) / 10}s` : `${Math.round(s)}s`;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function env(name) {
  const v = process.env[name];
  // terraform passes unset map values as empty strings; treat them as unset.
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function required(name, hint) {
  const v = env(name);
  if (v === undefined) throw new Fatal(`${name} is not set; ${hint}`);
  return v;
}

function seconds(name, fallback) {
  const raw = env(name);
  if (raw === undefined) return fallback * 1000;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(raw) || !(Number(raw) > 0)) {
    throw new Fatal(`${name} must be a positive number of seconds, got "${raw}"`);
  }
  return Number(raw) * 1000;
}

function identifier(name, hint) {
  const v = required(name, hint);
  // ids go into the URL path; rejecting anything else also catches unresolved "${...}" tokens.
  if (!/^[A-Za-z0-9-]{1,64}$/.test(v)) throw new Fatal(`${name} must be a Cloudflare id (letters, digits, "-"), got "${v}"`);
  return v;
}

function readConfig() {
  const token = required('CLOUDFLARE_API_TOKEN', `export the Cloudflare API token (with ${PERMISSION}) the Cloudflare provider uses`);
  // a newline or space in the token would be echoed back by header validation errors.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Fatal('CLOUDFLARE_API_TOKEN contains spaces or non-printable characters; check how it was exported');
  secret = token;
  const accountId = identifier('CF_ACCOUNT_ID', 'pass the Cloudflare account id that owns the tunnel');
  const tunnelId = identifier('CF_TUNNEL_ID', 'pass the id of the tunnel to wait for');

  const rawBase = env('CF_API_BASE') || DEFAULT_API_BASE;
  let base;
  try {
    base = new URL(rawBase);
  } catch {
    throw new Fatal(`CF_API_BASE must be a URL, got "${rawBase}"`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(base.hostname);
  // the token must never cross a network in clear text; plain http is only for local test servers.
  if (!(base.protocol === 'https:' || (base.protocol === 'http:' && loopback))) {
    throw new Fatal(`CF_API_BASE must be an https:// URL (http:// only on loopback), got "${base.origin}"`);
  }
  const baseUrl = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;

  return {
    token,
    accountId,
    tunnelId,
    apiOrigin: base.origin,
    tunnelUrl: `${baseUrl}/accounts/${accountId}/cfd_tunnel/${tunnelId}`,
    timeoutMs: seconds('WAIT_TIMEOUT_SEC', 600),
    intervalMs: seconds('WAIT_INTERVAL_SEC', 10),
    hostname: env('WAIT_HOSTNAME'),
    sinceMs: since(),
  };
}

/** WAIT_SINCE as epoch milliseconds, or undefined when it is not set. */
function since() {
  const v = env('WAIT_SINCE');
  if (!v) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(ms)) throw new Fatal(`WAIT_SINCE must be an RFC 3339 time such as 2026-01-25T18:22:34Z, got "${v}"`);
  return ms;
}

/**
 * When a connector started: its run_at, else its earliest connection's opened_at; NaN if it says
 * neither (it then never counts as new).
 */
function startedAt(client) {
  const run = typeof client.run_at === 'string' ? Date.parse(client.run_at) : NaN;
  if (!Number.isNaN(run)) return run;
  const opened = (Array.isArray(client.conns) ? client.conns : [])
    .map((x) => (x && typeof x.opened_at === 'string' ? Date.parse(x.opened_at) : NaN))
    .filter((t) => !Number.isNaN(t));
  return opened.length ? Math.min(...opened) : NaN;
}

/**
 * One GET with its own deadline. Resolves to { status, headers, body, json } or rejects with a
 * transport error; never rejects for an HTTP status.
 */
function get(url, token, timeoutMs) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : http;
    const req = client.request(
      u,
      {
        method: 'GET',
        // no keep-alive: one request per poll, and no idle socket holding the process open.
        agent: false,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          'User-Agent': 'cdktf-access-droplet-wait-for-tunnel',
        },
      },
      (res) => {
        const chunks = [];
        let size = 0;
        res.on('data', (c) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new Error(`response body larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const body = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(body);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode || 0, headers: res.headers, body, json });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${fmtSec(timeoutMs)}`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

function cfErrors(json) {
  const errors = json && Array.isArray(json.errors) ? json.errors : [];
  return errors.filter((e) => e && typeof e === 'object');
}

function describeErrors(res) {
  const errors = cfErrors(res.json);
  if (errors.length > 0) return errors.map((e) => `${e.code !== undefined ? `[${e.code}] ` : ''}${e.message || ''}`.trim()).join('; ');
  const text = res.body.replace(/\s+/g, ' ').trim();
  return text ? text.slice(0, 200) : 'empty body';
}

function isAuthFailure(res) {
  if (res.status === 401 || res.status === 403) return true;
  return cfErrors(res.json).some((e) => AUTH_ERROR_CODES.has(Number(e.code)));
}

function isRetryable(res) {
  return res.status === 408 || res.status === 429 || res.status >= 500;
}

/** Retry-After in ms (delay-seconds or HTTP-date), or undefined. */
function retryAfterMs(headers) {
  const v = headers && headers['retry-after'];
  if (!v) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function transportMessage(e) {
  const msg = (e && e.message) || String(e);
  return e && e.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg;
}

/**
 * Polls once. Returns { ready: true, line } when done, { ready: false, status, note } to wait one
 * interval, { retry: true, note, retryAfter } to back off; throws Fatal for what retrying cannot fix.
 */
async function poll(cfg, requestTimeoutMs) {
  let res;
  try {
    res = await get(cfg.tunnelUrl, cfg.token, requestTimeoutMs);
  } catch (e) {
    return { retry: true, note: `request failed: ${transportMessage(e)}` };
  }

  if (isAuthFailure(res)) {
    throw new Fatal(
      `the Cloudflare API rejected CLOUDFLARE_API_TOKEN (HTTP ${res.status}: ${describeErrors(res)}); ` +
        `the token needs ${PERMISSION} on account ${cfg.accountId} and must not be expired or IP-restricted away from this machine`,
    );
  }
  if (res.status === 404) {
    throw new Fatal(
      `tunnel ${cfg.tunnelId} was not found in account ${cfg.accountId} (HTTP 404: ${describeErrors(res)}); ` +
        'check CF_ACCOUNT_ID and CF_TUNNEL_ID, and that the tunnel was not deleted',
    );
  }
  if (isRetryable(res)) {
    return { retry: true, note: `Cloudflare API answered HTTP ${res.status}: ${describeErrors(res)}`, retryAfter: retryAfterMs(res.headers) };
  }
  if (res.status < 200 || res.status >= 300) {
    throw new Fatal(`the Cloudflare API answered HTTP ${res.status}: ${describeErrors(res)}`);
  }
  if (!res.json || typeof res.json !== 'object') {
    // a 2xx that is not JSON is most likely a proxy or captive portal in the way; it may pass.
    return { retry: true, note: `Cloudflare API answered HTTP ${res.status} without JSON: ${describeErrors(res)}` };
  }
  if (res.json.success === false) {
    return { retry: true, note: `Cloudflare API answered success:false: ${describeErrors(res)}` };
  }

  const tunnel = res.json.result && typeof res.json.result === 'object' ? res.json.result : {};
  if (tunnel.deleted_at) {
    throw new Fatal(`tunnel ${cfg.tunnelId} was deleted at ${tunnel.deleted_at}; it will never connect`);
  }
  const status = typeof tunnel.status === 'string' && tunnel.status ? tunnel.status : 'unknown';
  if (status !== 'healthy') return { ready: false, status };

  return confirm(cfg, requestTimeoutMs);
}

/**
 * The status can lag the connections, so a healthy tunnel is confirmed by its live connections.
 * Only a positive "no usable connection" vetoes; an answer we cannot read keeps the status' word.
 */
async function confirm(cfg, requestTimeoutMs) {
  let res;
  try {
    res = await get(`${cfg.tunnelUrl}/connections`, cfg.token, requestTimeoutMs);
  } catch (e) {
    return { retry: true, note: `status is healthy, but listing connections failed: ${transportMessage(e)}` };
  }
  if (isRetryable(res)) {
    return { retry: true, note: `status is healthy, but listing connections answered HTTP ${res.status}`, retryAfter: retryAfterMs(res.headers) };
  }
  const listed = res.status >= 200 && res.status < 300 && res.json && Array.isArray(res.json.result) ? res.json.result : undefined;
  if (!listed) {
    // without the list, a connector that started since WAIT_SINCE cannot be told from an older one.
    if (cfg.sinceMs !== undefined) return { ready: false, status: 'healthy (connections unreadable: cannot tell a new connector from the old)' };
    return { ready: true, connections: undefined, colos: [] };
  }
  const clients = cfg.sinceMs === undefined ? listed : listed.filter((c) => c && typeof c === 'object' && startedAt(c) >= cfg.sinceMs);
  if (clients.length === 0 && listed.length > 0) {
    return { ready: false, status: `healthy (only connectors that started before ${new Date(cfg.sinceMs).toISOString()}: the droplet this one replaces)` };
  }

  const conns = [];
  for (const c of clients) {
    if (c && Array.isArray(c.conns)) conns.push(...c.conns.filter((x) => x && typeof x === 'object'));
  }
  const live = conns.filter((x) => x.is_pending_reconnect !== true);
  if (live.length === 0) {
    return { ready: false, status: conns.length === 0 ? 'healthy (no connections listed yet)' : 'healthy (all connections pending reconnect)' };
  }
  const colos = [...new Set(live.map((x) => x.colo_name).filter((n) => typeof n === 'string' && n))].sort();
  return { ready: true, connections: live.length, colos };
}

function subject(cfg) {
  return cfg.hostname ? `tunnel ${cfg.tunnelId} (${cfg.hostname})` : `tunnel ${cfg.tunnelId}`;
}

function timeoutMessage(cfg, waitedMs, lastStatus, lastNote) {
  const hint = STATUS_HINTS[lastStatus];
  const seen = lastStatus ? `last status "${lastStatus}"${hint && lastStatus !== 'healthy' ? ` (${hint})` : ''}` : 'no status was read';
  const lines = [
    `gave up after ${fmtSec(waitedMs)} (WAIT_TIMEOUT_SEC=${cfg.timeoutMs / 1000}): ${subject(cfg)} is not healthy; ${seen}` +
      (lastNote ? `; last error: ${lastNote}` : ''),
  ];
  if (!lastStatus) {
    // without a single answer the droplet is not the suspect: this machine cannot reach the API.
    lines.push(`check that this machine reaches ${cfg.apiOrigin} (network, proxy, firewall) and that Cloudflare is not having an incident.`);
    return lines.join('\n');
  }
  lines.push(
    'check the droplet from the DigitalOcean console (no inbound port is open):',
    '  cloud-init status --long                      # did first boot finish, or fail?',
    '  grep cdktf-access-droplet /var/log/cloud-init-output.log',
    '  journalctl -u cloudflared-access --no-pager -n 100',
    'a slow first boot may only need a larger timeout; running the deploy again re-runs this wait.',
  );
  return lines.join('\n');
}

async function main() {
  const started = Date.now();
  const cfg = readConfig();
  const deadline = started + cfg.timeoutMs;
  log(`waiting up to ${fmtSec(cfg.timeoutMs)} for ${subject(cfg)} to become healthy`);

  let lastStatus;
  let lastNote;
  let announced;
  let failures = 0;

  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;

    const r = await poll(cfg, Math.min(REQUEST_TIMEOUT_MS, remaining));
    if (r.ready) {
      const conns = r.connections === undefined ? '' : ` with ${r.connections} connection${r.connections === 1 ? '' : 's'}${r.colos.length ? ` (${r.colos.join(', ')})` : ''}`;
      process.stdout.write(`${NAME}: ${printable(redact(`${subject(cfg)} is healthy${conns} after ${fmtSec(Date.now() - started)}`))}\n`);
      return EXIT_HEALTHY;
    }

    let waitMs = cfg.intervalMs;
    if (r.retry) {
      failures += 1;
      lastNote = r.note;
      waitMs = Math.min(cfg.intervalMs * 2 ** (failures - 1), Math.max(cfg.intervalMs, MAX_BACKOFF_MS));
      if (r.retryAfter !== undefined) waitMs = Math.max(waitMs, r.retryAfter);
      log(`${r.note}; retrying in ${fmtSec(Math.min(waitMs, deadline - Date.now()))}`);
    } else {
      failures = 0;
      lastNote = undefined;
      lastStatus = r.status;
      if (r.status !== announced) {
        announced = r.status;
        const hint = STATUS_HINTS[r.status];
        log(`status ${r.status}${hint && r.status !== 'healthy' ? `: ${hint}` : ''} (${fmtSec(Date.now() - started)} elapsed)`);
      }
    }
    await sleep(Math.min(waitMs, deadline - Date.now()));
  }

  log(timeoutMessage(cfg, Date.now() - started, lastStatus, lastNote));
  return EXIT_TIMEOUT;
}

function fail(e) {
  // the message only, never a stack, which could quote values; log() redacts the token.
  const msg = e instanceof Fatal ? e.message : `unexpected error: ${(e && e.message) || String(e)}`;
  log(msg);
  return EXIT_FATAL;
}

process.on('uncaughtException', (e) => {
  process.exitCode = fail(e);
  process.exit();
});

main()
  .catch(fail)
  .then((code) => {
    process.exitCode = code;
    // nothing should keep the loop alive, but a deploy must never hang on this script.
    setTimeout(() => process.exit(), 2000).unref();
  });
