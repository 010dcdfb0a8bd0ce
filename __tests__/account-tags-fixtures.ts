// account tag lists nobody listed by hand, for the encoder's tests and the host agent's: a
// second, independent writer of the tag format (so a test can make tags the encoder refuses to
// write), a seeded generator of account lists, and a corpus of broken variants.
import { createHash } from 'crypto';
import { AccountRecord, encodeAccountTags } from '../lib/account-tags';

/** RFC 4648 base32, lower case, no padding (written again here, not imported). */
export function base32(bytes: Buffer): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}

export function generation(payload: string): string {
  return createHash('sha256').update(payload, 'ascii').digest('hex').slice(0, 12);
}

/** tags for any payload text, cut into chunks of `chunk` characters, with a correct hash. */
export function tagsForPayload(payload: string, chunk = 200): string[] {
  const gen = generation(payload);
  const parts: string[] = [];
  for (let i = 0; i < payload.length; i += chunk) parts.push(payload.slice(i, i + chunk));
  return parts.map((p, i) => `cdad:${gen}:${i}:${parts.length}:${p}`);
}

/** tags for any document bytes (valid or not), encoded as the encoder does. */
export function tagsForDocument(doc: string | Buffer, chunk = 200): string[] {
  return tagsForPayload(base32(typeof doc === 'string' ? Buffer.from(doc, 'utf8') : doc), chunk);
}

/** the document text the encoder writes for valid accounts (sorted, deduplicated). */
export function canonicalText(accounts: AccountRecord[]): string {
  const sorted = [...accounts].sort((a, b) => (a.name < b.name ? -1 : 1)).map((a) => ({
    name: a.name, email: a.email, principals: [...new Set(a.principals)].sort(), sudo: a.sudo, groups: [...new Set(a.groups)].sort(),
  }));
  return JSON.stringify({ v: 1, accounts: sorted });
}

/** a small seeded generator (mulberry32): the same seed gives the same inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Pools {
  /** Unix names to draw accounts from. */
  readonly names: readonly string[];
  /** groups to draw from. */
  readonly groups: readonly string[];
}

/**
 * A valid account list drawn from the pools: 1..max accounts, unique names, one person per
 * principal (the principal is `<name>.p` in one or two spellings), random sudo and groups.
 */
export function randomAccounts(rand: () => number, pools: Pools, max = 6): AccountRecord[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const count = 1 + Math.floor(rand() * max);
  const names = new Set<string>();
  while (names.size < Math.min(count, pools.names.length)) names.add(pick(pools.names));
  return [...names].map((name) => {
    const local = `${name}.P`;
    const groups = pools.groups.filter((g) => rand() < 0.25 && !names.has(g));
    return {
      name,
      email: `${local}@example.com`,
      principals: rand() < 0.5 ? [local, local.toLowerCase()] : [name],
      sudo: rand() < 0.3,
      groups,
    };
  });
}

/** a labelled tag list and whether the host must accept it. */
export interface Case {
  readonly label: string;
  readonly tags: string[];
  readonly valid: boolean;
}

/** documents that parse but break one rule each, from a valid list `a` (at least two accounts). */
export function brokenDocuments(a: AccountRecord[]): { label: string; text: string }[] {
  const sorted = JSON.parse(canonicalText(a)) as { v: number; accounts: Record<string, unknown>[] };
  const withAccount = (i: number, patch: Record<string, unknown>) => JSON.stringify({
    v: 1, accounts: sorted.accounts.map((x, j) => (j === i ? { ...x, ...patch } : x)),
  });
  const first = sorted.accounts[0];
  const second = sorted.accounts[1];
  return [
    { label: 'whitespace', text: JSON.stringify(sorted, null, 1) },
    { label: 'accounts not sorted', text: JSON.stringify({ v: 1, accounts: [...sorted.accounts].reverse() }) },
    { label: 'keys in another order', text: JSON.stringify({ accounts: sorted.accounts, v: 1 }) },
    { label: 'v 2', text: JSON.stringify({ ...sorted, v: 2 }) },
    { label: 'v "1"', text: JSON.stringify({ ...sorted, v: '1' }).replace('"v":"1"', '"v":"1"') },
    { label: 'v true', text: canonicalText(a).replace('"v":1', '"v":true') },
    { label: 'v 1.0', text: canonicalText(a).replace('"v":1', '"v":1.0') },
    { label: 'unknown top-level key', text: canonicalText(a).replace('{"v":1,', '{"v":1,"x":0,') },
    { label: 'unknown account key', text: withAccount(0, { shell: '/bin/sh' }) },
    { label: 'missing email', text: JSON.stringify({ v: 1, accounts: [{ ...first, email: undefined }, ...sorted.accounts.slice(1)] }) },
    { label: 'upper-case name', text: withAccount(0, { name: String(first.name).toUpperCase() + 'X' }) },
    { label: 'name with a dot', text: withAccount(0, { name: 'a.b' }) },
    { label: 'name of 33 characters', text: withAccount(0, { name: 'a'.repeat(33) }) },
    { label: 'empty name', text: withAccount(0, { name: '' }) },
    { label: 'name with a newline', text: withAccount(0, { name: 'ab\nroot' }) },
    { label: 'duplicate name', text: withAccount(1, { name: first.name }) },
    { label: 'email without @', text: withAccount(0, { email: 'nobody' }) },
    { label: 'email with a colon', text: withAccount(0, { email: 'a:b@example.com' }) },
    { label: 'email with a newline', text: withAccount(0, { email: 'a@example.com\nx' }) },
    { label: 'principal starting with #', text: withAccount(0, { principals: ['#x'] }) },
    { label: 'principal with a space', text: withAccount(0, { principals: ['a b'] }) },
    { label: 'principal with a comma', text: withAccount(0, { principals: ['a,b'] }) },
    { label: 'empty principals', text: withAccount(0, { principals: [] }) },
    { label: 'principal of another account', text: withAccount(0, { principals: second.principals }) },
    { label: 'principal of another account in upper case', text: withAccount(0, { principals: (second.principals as string[]).map((p) => p.toUpperCase()).sort() }) },
    { label: 'principals not sorted', text: withAccount(0, { principals: ['zz', 'aa'] }) },
    { label: 'principals duplicated', text: withAccount(0, { principals: ['aa', 'aa'] }) },
    { label: 'sudo 1', text: withAccount(0, { sudo: 1 }) },
    { label: 'sudo "true"', text: withAccount(0, { sudo: 'true' }) },
    { label: 'sudo null', text: withAccount(0, { sudo: null }) },
    { label: 'groups not a list', text: withAccount(0, { groups: 'adm' }) },
    { label: 'group with a comma', text: withAccount(0, { groups: ['adm,root'] }) },
    { label: 'group named like a listed account', text: withAccount(0, { groups: [second.name] }) },
    { label: 'groups not sorted', text: withAccount(0, { groups: ['zz', 'aa'] }) },
    { label: 'empty accounts', text: '{"v":1,"accounts":[]}' },
    { label: 'accounts an object', text: '{"v":1,"accounts":{}}' },
    { label: 'a list', text: '[1]' },
    { label: 'NaN', text: canonicalText(a).replace('"v":1', '"v":NaN') },
    { label: 'truncated JSON', text: canonicalText(a).slice(0, -1) },
    { label: 'a byte-order mark', text: '\ufeff' + canonicalText(a) },
    { label: 'a duplicate key', text: canonicalText(a).replace('{"v":1,', '{"v":1,"v":1,') },
    { label: 'trailing space', text: canonicalText(a) + ' ' },
    { label: 'non-ASCII email', text: withAccount(0, { email: 'jöe@example.com' }) },
  ];
}

/**
 * Tag lists for `a` (a valid list of at least two accounts) and `b` (another valid list): the
 * valid encodings, and every way the host must refuse them.
 */
export function tagCases(a: AccountRecord[], b: AccountRecord[]): Case[] {
  const tagsA = encodeAccountTags(a);
  const tagsB = encodeAccountTags(b);
  const payload = base32(Buffer.from(canonicalText(a)));
  const payloadB = base32(Buffer.from(canonicalText(b)));
  const chunked = tagsForPayload(payload, 20);
  const other = ['env:prod', 'k8s', 'web-1'];
  const cases: Case[] = [
    { label: 'valid', tags: tagsA, valid: true },
    { label: 'valid among other tags', tags: [...other, ...tagsA].reverse(), valid: true },
    { label: 'valid, upper case', tags: tagsA.map((t) => t.toUpperCase()), valid: true },
    { label: 'valid, listed twice', tags: [...tagsA, ...tagsA], valid: true },
    { label: 'the second list', tags: tagsB, valid: true },
    { label: 'no tags', tags: [], valid: false },
    { label: 'only other tags', tags: other, valid: false },
    { label: 'two complete generations', tags: [...tagsA, ...tagsB], valid: tagsA.join() === tagsB.join() },
    { label: 'a complete generation and an incomplete one', tags: [...tagsA, ...tagsForPayload(payloadB, 20).slice(1)], valid: true },
    { label: 'a missing chunk', tags: chunked.slice(0, -1), valid: false },
    { label: 'a missing first chunk', tags: chunked.slice(1), valid: false },
    { label: 'short chunks (not the encoder\'s 200)', tags: chunked, valid: false },
    { label: 'a wrong hash', tags: tagsA.map((t) => t.replace(/^cdad:[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0'))), valid: false },
    { label: 'a changed chunk character', tags: tagsA.map((t, i) => (i === 0 ? t.slice(0, -1) + (t.endsWith('a') ? 'b' : 'a') : t)), valid: false },
    { label: 'an index past n', tags: tagsA.map((t, i) => (i === 0 ? t.replace(/^(cdad:[0-9a-f]{12}):0:(\d+):/, (_m, p, n) => `${p}:${n}:${n}:`) : t)), valid: false },
    { label: 'a leading zero', tags: tagsA.map((t) => t.replace(/^(cdad:[0-9a-f]{12}):(\d+):/, '$1:0$2:')), valid: false },
    { label: 'a chunk count that differs', tags: [...tagsA, tagsA[0].replace(/^(cdad:[0-9a-f]{12}:\d+):(\d+):/, (_m, p, n) => `${p}:${Number(n) + 1}:`)], valid: false },
    { label: 'two chunks with one index', tags: [...tagsA, tagsA[0].slice(0, -1) + (tagsA[0].endsWith('a') ? 'b' : 'a')], valid: false },
    { label: 'a non-base32 character', tags: tagsForPayload(payload.slice(0, -1) + '1'), valid: false },
    { label: 'padding', tags: [`${tagsA[0]}=`], valid: false },
    { label: 'a space in a tag', tags: [tagsA[0].replace(':0:', ': 0:'), ...tagsA.slice(1)], valid: false },
    { label: 'a non-ASCII letter that lower-cases to ASCII', tags: tagsA.map((t, i) => (i === 0 ? t.replace(/k/, '\u212a') : t)), valid: !tagsA[0].includes('k') },
    { label: 'bare prefix', tags: ['cdad:'], valid: false },
    { label: 'prefix in upper case with nothing else', tags: ['CDAD:x'], valid: false },
    { label: 'a non-canonical last base32 character', tags: tagsForPayload(nonCanonicalBase32(payload)), valid: nonCanonicalBase32(payload) === payload },
    { label: 'data after the document', tags: tagsForPayload(base32(Buffer.concat([Buffer.from(canonicalText(a)), Buffer.from('x')]))), valid: false },
    { label: 'a truncated document', tags: tagsForPayload(base32(Buffer.from(canonicalText(a)).subarray(0, -2))), valid: false },
    { label: 'a compressed document', tags: tagsForPayload(base32(require('zlib').deflateRawSync(Buffer.from(canonicalText(a))))), valid: false },
    { label: 'more than 256 KiB', tags: tagsForDocument(canonicalText(a).replace('{"v":1,', '{"v":1,' + ' '.repeat(300 * 1024))), valid: false },
    { label: 'invalid UTF-8', tags: tagsForDocument(Buffer.concat([Buffer.from(canonicalText(a).slice(0, -2)), Buffer.from([0xff]), Buffer.from(']}')])), valid: false },
  ];
  for (const d of brokenDocuments(a)) cases.push({ label: `document: ${d.label}`, tags: tagsForDocument(d.text), valid: false });
  return cases;
}

/** the payload with its last character changed so that its unused low bits are not zero (unchanged when it has none). */
function nonCanonicalBase32(payload: string): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  // spare bits by length mod 8 (1, 3 and 6 do not occur).
  const spare = [0, 0, 2, 0, 4, 1, 0, 3][payload.length % 8];
  if (spare === 0) return payload;
  const last = alphabet.indexOf(payload[payload.length - 1]);
  return payload.slice(0, -1) + alphabet[last | 1];
}
