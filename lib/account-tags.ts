// the account list as droplet tags: what `cloud-init/accounts` on the host reads from the metadata
// service. Pure: no construct, no token. The host agent implements the same decoder in Python;
// __tests__/account-tags.test.ts proves that both accept and refuse the same tags.
import { createHash } from 'crypto';

/** One Unix account as the host agent creates it. */
export interface AccountRecord {
  /** the Unix name. */
  readonly name: string;
  /** the person's email: the account's comment (GECOS) field. */
  readonly email: string;
  /** exactly what `/etc/ssh/auth_principals/<name>` lists. */
  readonly principals: string[];
  /** whether the account may run any command as root with `sudo`. */
  readonly sudo: boolean;
  /** supplementary groups (the host applies its group rule to each). */
  readonly groups: string[];
}

/** Every account tag starts with this. */
export const ACCOUNT_TAG_PREFIX = 'cdad:';

/** the document's format version. */
const VERSION = 1;
/** at most this many payload characters per tag. */
export const ACCOUNT_TAG_CHUNK_CHARS = 200;
/** n is one or two digits in the tag. */
export const ACCOUNT_TAG_MAX_CHUNKS = 99;
/** the host refuses a larger account list. */
export const MAX_ACCOUNTS = 1000;
/** the host refuses a larger document. */
const MAX_DOCUMENT_BYTES = 256 * 1024;

const NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
// the same address rule as lib/users.ts: printable ASCII local part without spaces, quotes or
// separators, then a DNS name.
const EMAIL =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/;
// an email local part (self-hosted mode) or a Unix name (infrastructure mode); sshd reads a line
// that starts with "#" as a comment.
const PRINCIPAL = /^[A-Za-z0-9!$%&'*+/=?^_`{|}~.-][A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{0,63}$/;
const TAG = /^cdad:([0-9a-f]{12}):(0|[1-9][0-9]?):([1-9][0-9]?):([a-z2-7]{1,200})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const ACCOUNT_KEYS = ['name', 'email', 'principals', 'sudo', 'groups'];

/**
 * The tags that carry `accounts`: deterministic (the same accounts in any order give
 * the same tags), each matching `^[a-z0-9:]{1,255}$`.
 *
 * The document is `{"v":1,"accounts":[...]}` with accounts sorted by name and principals and
 * groups sorted and deduplicated, its UTF-8 written in lower-case base32 without padding (not
 * compressed: zlib builds write different bytes, and the tags must not change from machine to
 * machine), cut into chunks of at most 200 characters, and tag i is
 * `cdad:<gen>:<i>:<n>:<chunk>` where gen is the first 12 hex digits of the payload's sha256.
 *
 * @throws when a record is invalid (naming the field and value) or the list needs more than 99 tags
 */
export function encodeAccountTags(accounts: readonly AccountRecord[]): string[] {
  // checked in the caller's order, so a message's index is the caller's.
  const given = Array.isArray(accounts)
    ? accounts.map((a) => (isObject(a) ? { name: a.name, email: a.email, principals: a.principals, sudo: a.sudo, groups: a.groups } : a))
    : accounts;
  const problem = validateDocument({ v: VERSION, accounts: given });
  if (problem !== undefined) throw new Error(`${problem}; ${fixFor(problem)}`);
  const doc = canonicalDocument(accounts);
  // not compressed: Node's zlib writes different bytes than others (and may between versions),
  // and tags that differ from machine to machine would change on every deploy.
  const payload = base32(Buffer.from(doc, 'utf8'));
  const gen = generationOf(payload);
  const n = Math.ceil(payload.length / ACCOUNT_TAG_CHUNK_CHARS);
  if (n > ACCOUNT_TAG_MAX_CHUNKS) {
    throw new Error(
      `the account list of ${accounts.length} accounts needs ${n} tags of ${ACCOUNT_TAG_CHUNK_CHARS} characters, over the ${ACCOUNT_TAG_MAX_CHUNKS} a generation can have; ` +
      'put fewer users on this host (split them over more hosts or access groups)',
    );
  }
  const tags: string[] = [];
  for (let i = 0; i < n; i++) {
    tags.push(`${ACCOUNT_TAG_PREFIX}${gen}:${i}:${n}:${payload.slice(i * ACCOUNT_TAG_CHUNK_CHARS, (i + 1) * ACCOUNT_TAG_CHUNK_CHARS)}`);
  }
  return tags;
}

/**
 * The accounts the host agent applies for `tags` (the droplet's whole tag list: tags without
 * the `cdad:` prefix are ignored), or why it changes nothing. Same rules as `cloud-init/accounts`:
 * a `cdad:` tag that does not parse refuses the whole list; a generation counts only when all its
 * chunks are present, the hash matches, it is at most 256 KiB, and the document is valid
 * and exactly what {@link encodeAccountTags} writes; exactly one such generation is applied.
 */
export function decodeAccountTags(tags: readonly string[]): { accounts: AccountRecord[] } | { error: string } {
  const byGen = new Map<string, Map<number, { n: number; chunks: Set<string> }>>();
  for (const raw of new Set(tags)) {
    const prefix = raw.slice(0, ACCOUNT_TAG_PREFIX.length);
    if (!/^[\x00-\x7f]*$/.test(prefix) || prefix.toLowerCase() !== ACCOUNT_TAG_PREFIX) continue;
    // DigitalOcean's tags are case-insensitive: only the ASCII letters' case may change.
    const m = /^[A-Za-z0-9:]+$/.test(raw) ? TAG.exec(raw.toLowerCase()) : null;
    if (m === null || Number(m[2]) >= Number(m[3])) {
      return { error: `malformed account tag ${JSON.stringify(shorten(raw))}` };
    }
    const chunks = byGen.get(m[1]) ?? new Map<number, { n: number; chunks: Set<string> }>();
    byGen.set(m[1], chunks);
    const at = chunks.get(Number(m[2])) ?? { n: Number(m[3]), chunks: new Set<string>() };
    chunks.set(Number(m[2]), at);
    if (at.n !== Number(m[3])) at.n = -1;
    at.chunks.add(m[4]);
  }
  if (byGen.size === 0) return { error: 'no account tags (cdad:...) on this droplet' };
  const valid: { gen: string; accounts: AccountRecord[] }[] = [];
  const invalid: string[] = [];
  for (const gen of [...byGen.keys()].sort()) {
    const r = decodeGeneration(gen, byGen.get(gen)!);
    if ('error' in r) invalid.push(`${gen}: ${r.error}`);
    else valid.push({ gen, accounts: r.accounts });
  }
  if (valid.length === 1) return { accounts: valid[0].accounts };
  if (valid.length > 1) {
    return { error: `${valid.length} complete generations (${valid.map((v) => v.gen).join(', ')}): an update is half done, or two stacks tag this droplet` };
  }
  return { error: `no complete valid generation (${invalid.join('; ')})` };
}

function decodeGeneration(gen: string, chunks: Map<number, { n: number; chunks: Set<string> }>): { accounts: AccountRecord[] } | { error: string } {
  const ns = new Set([...chunks.values()].map((c) => c.n));
  if (ns.size !== 1 || ns.has(-1)) return { error: 'its tags disagree on the number of chunks' };
  const n = [...ns][0];
  if ([...chunks.values()].some((c) => c.chunks.size > 1)) return { error: 'two different chunks have the same index' };
  if (chunks.size !== n) return { error: `incomplete, ${chunks.size} of ${n} chunks` };
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const chunk = [...chunks.get(i)!.chunks][0];
    if (i < n - 1 && chunk.length !== ACCOUNT_TAG_CHUNK_CHARS) return { error: `chunk ${i} has ${chunk.length} characters, not ${ACCOUNT_TAG_CHUNK_CHARS}` };
    parts.push(chunk);
  }
  const payload = parts.join('');
  if (generationOf(payload) !== gen) return { error: 'the payload does not match its hash' };
  const bytes = unbase32(payload);
  if (bytes === undefined) return { error: 'the payload is not canonical base32' };
  if (bytes.length > MAX_DOCUMENT_BYTES) return { error: `the document is larger than ${MAX_DOCUMENT_BYTES} bytes` };
  let text: string;
  let doc: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    doc = JSON.parse(text);
  } catch {
    return { error: 'the document is not UTF-8 JSON' };
  }
  const problem = validateDocument(doc);
  if (problem !== undefined) return { error: problem };
  const accounts = (doc as { accounts: AccountRecord[] }).accounts;
  if (canonicalDocument(accounts) !== text) return { error: 'the document is not in canonical form (sorted, deduplicated, no whitespace)' };
  return { accounts: accounts.map((a) => ({ name: a.name, email: a.email, principals: a.principals, sudo: a.sudo, groups: a.groups })) };
}

/**
 * What is wrong with a parsed document, or undefined: the rules the host agent checks before it
 * changes anything (the format is described at {@link encodeAccountTags}).
 */
function validateDocument(doc: unknown): string | undefined {
  if (!isObject(doc)) return 'the document is not a JSON object';
  for (const k of Object.keys(doc)) if (k !== 'v' && k !== 'accounts') return `the document has unknown key ${JSON.stringify(k)}`;
  if (doc.v !== VERSION) return `the document's v is ${show(doc.v)}, not ${VERSION}`;
  const accounts = doc.accounts;
  if (!Array.isArray(accounts)) return 'accounts is not a list';
  if (accounts.length === 0) return 'accounts is empty';
  if (accounts.length > MAX_ACCOUNTS) return `accounts has ${accounts.length} entries, over ${MAX_ACCOUNTS}`;
  const names = new Set<string>();
  const principalOwner = new Map<string, string>();
  for (let i = 0; i < accounts.length; i++) {
    const a: unknown = accounts[i];
    const at = `accounts[${i}]`;
    if (!isObject(a)) return `${at} is not an object`;
    for (const k of Object.keys(a)) if (!ACCOUNT_KEYS.includes(k)) return `${at} has unknown key ${JSON.stringify(k)}`;
    for (const k of ACCOUNT_KEYS) if (!(k in a)) return `${at} has no ${k}`;
    if (typeof a.name !== 'string' || !NAME.test(a.name)) return `${at}.name ${show(a.name)} is not a valid Unix name (${NAME.source})`;
    if (names.has(a.name)) return `${at}.name "${a.name}" is listed twice`;
    names.add(a.name);
    if (typeof a.email !== 'string' || !EMAIL.test(a.email)) return `${at}.email ${show(a.email)} is not an email address`;
    if (!Array.isArray(a.principals) || a.principals.length === 0) return `${at}.principals ${show(a.principals)} is not a non-empty list`;
    for (const p of a.principals as unknown[]) {
      if (typeof p !== 'string' || !PRINCIPAL.test(p)) {
        return `${at}.principals has ${show(p)}, which is not a principal (email local-part characters, not starting with "#")`;
      }
      const owner = principalOwner.get(p.toLowerCase());
      if (owner !== undefined && owner !== a.name) {
        return `${at}.principals has "${p}", which account "${owner}" accepts too (principals are compared case-insensitively)`;
      }
      principalOwner.set(p.toLowerCase(), a.name);
    }
    if (typeof a.sudo !== 'boolean') return `${at}.sudo ${show(a.sudo)} is not true or false`;
    if (!Array.isArray(a.groups)) return `${at}.groups ${show(a.groups)} is not a list`;
    for (const g of a.groups as unknown[]) {
      if (typeof g !== 'string' || !NAME.test(g)) return `${at}.groups has ${show(g)}, which is not a valid group name (${NAME.source})`;
    }
  }
  for (let i = 0; i < accounts.length; i++) {
    for (const g of (accounts[i] as AccountRecord).groups) {
      // useradd makes each account its own group of the same name.
      if (names.has(g)) return `accounts[${i}].groups has "${g}", which is the name of a listed account`;
    }
  }
  return undefined;
}

/** the fix that goes with a refusal at encode time. */
function fixFor(problem: string): string {
  const fixes: [RegExp, string][] = [
    [/listed twice/, 'give each account its own Unix name'],
    [/accepts too/, 'give each principal to one account only'],
    [/name of a listed account/, 'use a team group that no account is named after'],
    [/^accounts is empty/, 'pass at least one account'],
    [/^accounts has \d+ entries/, `put at most ${MAX_ACCOUNTS} accounts on one host`],
    [/\.name /, 'pass a lower-case Unix name'],
    [/\.email /, 'pass an address like "name@example.com"'],
    [/\.principals/, 'pass the email\'s local part or the Unix name'],
    [/\.sudo /, 'pass true or false'],
    [/\.groups/, 'pass valid group names'],
  ];
  return fixes.find(([re]) => re.test(problem))?.[1] ?? 'pass a list of account records';
}

/** the one document text for `accounts`: sorted by name; principals and groups sorted and deduplicated. */
function canonicalDocument(accounts: readonly AccountRecord[]): string {
  if (!Array.isArray(accounts)) return JSON.stringify({ v: VERSION, accounts });
  const sorted = [...accounts].map((a) => (isObject(a)
    ? { name: a.name, email: a.email, principals: sortedUnique(a.principals), sudo: a.sudo, groups: sortedUnique(a.groups) }
    : a));
  sorted.sort((x, y) => (compare(isObject(x) ? x.name : undefined, isObject(y) ? y.name : undefined)));
  return JSON.stringify({ v: VERSION, accounts: sorted });
}

function sortedUnique(values: unknown): unknown {
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) return values;
  return [...new Set(values as string[])].sort(compare);
}

/** code-unit order: the same in every locale, and Python's order for ASCII. */
function compare(a: unknown, b: unknown): number {
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function generationOf(payload: string): string {
  return createHash('sha256').update(payload, 'ascii').digest('hex').slice(0, 12);
}

/** RFC 4648 base32, lower case, no padding. */
function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** the bytes of canonical base32 text (the one {@link base32} writes), or undefined. */
function unbase32(text: string): Buffer | undefined {
  if ([1, 3, 6].includes(text.length % 8)) return undefined;
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = BASE32.indexOf(c);
    if (v < 0) return undefined;
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
    value &= (1 << bits) - 1;
  }
  // the bits left over are padding: canonical text leaves them zero.
  if (value !== 0) return undefined;
  return Buffer.from(out);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return shorten(s ?? String(v));
}

function shorten(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
