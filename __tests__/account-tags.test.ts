// the account list as droplet tags: the encoder, its refusals, the TypeScript decoder, and the
// host agent's decoder (cloud-init/accounts, Python) agreeing with it on inputs nobody listed.
import { existsSync, writeFileSync } from 'fs';
import { join } from 'path';
import { ACCOUNT_TAG_PREFIX, AccountRecord, decodeAccountTags, encodeAccountTags } from '../lib/account-tags';
import { validateEmail } from '../lib/users';
import {
  base32, brokenDocuments, canonicalText, generation, prng, randomAccounts, tagCases, tagsForDocument, tagsForPayload,
} from './account-tags-fixtures';
import { describeReal, makeTempDir, removeTempDirs, Requirement, ROOT, run, runOk } from './real/helpers';

const jdoe: AccountRecord = { name: 'jdoe', email: 'jane.doe@example.com', principals: ['Jane.Doe', 'jane.doe'], sudo: true, groups: ['www-data'] };
const srhea: AccountRecord = { name: 'srhea', email: 'srhea@cloudflare.com', principals: ['srhea'], sudo: false, groups: [] };

/** `n` accounts with random-looking names and emails. */
function manyAccounts(n: number, seed = 1): AccountRecord[] {
  const rand = prng(seed);
  const hex = () => Math.floor(rand() * 0xffffffff).toString(16).padStart(8, '0');
  return Array.from({ length: n }, (_, i) => {
    const name = `u${i}${hex()}`;
    return { name, email: `${name}.${hex()}@${hex()}.example.com`, principals: [`${name}.${hex()}`], sudo: rand() < 0.3, groups: rand() < 0.5 ? ['www-data'] : [] };
  });
}

/** the document inside a generation's tags, as the host reads it. */
function documentOf(tags: string[]): string {
  const payload = tags.map((t) => t.split(':')[4]).join('');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let bits = '';
  for (const c of payload) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  return bytes.toString('utf8');
}

describe('encodeAccountTags', () => {
  test('writes the document described at encodeAccountTags and round-trips', () => {
    const tags = encodeAccountTags([jdoe]);
    expect(documentOf(tags)).toBe(
      '{"v":1,"accounts":[{"name":"jdoe","email":"jane.doe@example.com","principals":["Jane.Doe","jane.doe"],"sudo":true,"groups":["www-data"]}]}',
    );
    expect(decodeAccountTags(tags)).toEqual({ accounts: [jdoe] });
  });

  test('tag i is cdad:<gen>:<i>:<n>:<chunk>, gen the first 12 hex digits of the payload\'s sha256', () => {
    const tags = encodeAccountTags(manyAccounts(10));
    const parts = tags.map((t) => t.split(':'));
    const payload = parts.map((p) => p[4]).join('');
    expect(parts.map((p) => [p[0], p[1], p[2], p[3]])).toEqual(tags.map((_t, i) => ['cdad', generation(payload), String(i), String(tags.length)]));
    expect(tags.every((t) => t.startsWith(ACCOUNT_TAG_PREFIX))).toBe(true);
    // the independent writer in the fixtures makes the same tags from the same document.
    expect(tagsForDocument(documentOf(tags))).toEqual(tags);
  });

  test('is deterministic: order, duplicates and repetition do not change the tags', () => {
    const a = encodeAccountTags([jdoe, srhea]);
    expect(encodeAccountTags([srhea, jdoe])).toEqual(a);
    expect(encodeAccountTags([{ ...jdoe, principals: ['jane.doe', 'Jane.Doe', 'jane.doe'], groups: ['www-data', 'www-data'] }, srhea])).toEqual(a);
    expect(encodeAccountTags([jdoe, srhea])).toEqual(a);
    // and any change is a new generation.
    expect(encodeAccountTags([{ ...jdoe, sudo: false }, srhea])[0].split(':')[1]).not.toBe(a[0].split(':')[1]);
  });

  test('every tag is at most 255 characters of [a-z0-9:] and survives lower-casing, for lists nobody listed', () => {
    const rand = prng(18);
    const pools = { names: Array.from({ length: 40 }, (_, i) => `user${i}`), groups: ['www-data', 'users', 'team-a', 'cdrom'] };
    for (let i = 0; i < 200; i++) {
      const accounts = randomAccounts(rand, pools, 12);
      const tags = encodeAccountTags(accounts);
      for (const t of tags) {
        expect(t).toMatch(/^[a-z0-9:]{1,255}$/);
        expect(t.toLowerCase()).toBe(t);
      }
      const decoded = decodeAccountTags(tags.map((t) => t.toUpperCase()));
      expect(decoded).toEqual({ accounts: JSON.parse(canonicalText(accounts)).accounts });
    }
  });

  test('cuts many users into chunks of at most 200 characters, all but the last exactly 200', () => {
    const accounts = manyAccounts(50);
    const tags = encodeAccountTags(accounts);
    const chunks = tags.map((t) => t.split(':')[4]);
    expect(tags.length).toBeGreaterThan(10);
    expect(chunks.slice(0, -1).every((c) => c.length === 200)).toBe(true);
    expect(chunks[chunks.length - 1].length).toBeGreaterThan(0);
    expect(chunks[chunks.length - 1].length).toBeLessThanOrEqual(200);
    const decoded = decodeAccountTags([...tags].reverse());
    expect('accounts' in decoded && decoded.accounts.map((a) => a.name)).toEqual(accounts.map((a) => a.name).sort());
  });

  test('fails when the list needs more than 99 tags, naming the count', () => {
    // about 200 payload characters per account of long random text: 99 tags hold about 90 of them.
    let fits = 0;
    for (const n of [25, 50, 75, 100]) if (encodeAccountTagsOrUndefined(manyAccounts(n)) !== undefined) fits = n;
    expect(fits).toBeGreaterThanOrEqual(75);
    expect(() => encodeAccountTags(manyAccounts(1000))).toThrow(
      /^the account list of 1000 accounts needs \d+ tags of 200 characters, over the 99 a generation can have; put fewer users on this host/,
    );
  });

  test('fits a plausible team: 90 people with ordinary names and emails', () => {
    const accounts = Array.from({ length: 90 }, (_, i) => ({
      name: `user${i}`, email: `first.last${i}@example.com`, principals: [`first.last${i}`], sudo: i % 10 === 0, groups: ['www-data'],
    }));
    expect(encodeAccountTags(accounts).length).toBeLessThanOrEqual(99);
  });

  test.each<[string, unknown, RegExp]>([
    ['an invalid name', [{ ...jdoe, name: 'Jane' }], /^accounts\[0\]\.name "Jane" is not a valid Unix name \(\^\[a-z_\]\[a-z0-9_-\]\{0,31\}\$\); pass a lower-case Unix name$/],
    ['a name with a newline', [{ ...jdoe, name: 'ab\nroot' }], /^accounts\[0\]\.name "ab\\nroot" is not a valid Unix name/],
    ['an invalid email', [srhea, { ...jdoe, email: 'jane' }], /^accounts\[1\]\.email "jane" is not an email address; pass an address like "name@example\.com"$/],
    ['a principal starting with #', [{ ...jdoe, principals: ['#ops'] }], /^accounts\[0\]\.principals has "#ops", which is not a principal \(email local-part characters, not starting with "#"\)/],
    ['no principal', [{ ...jdoe, principals: [] }], /^accounts\[0\]\.principals \[\] is not a non-empty list/],
    ['one principal in two accounts', [jdoe, { ...srhea, principals: ['JANE.DOE'] }], /^accounts\[1\]\.principals has "JANE\.DOE", which account "jdoe" accepts too \(principals are compared case-insensitively\); give each principal to one account only$/],
    ['one name twice', [srhea, { ...jdoe, name: 'srhea' }], /^accounts\[1\]\.name "srhea" is listed twice; give each account its own Unix name$/],
    ['sudo that is not a boolean', [{ ...jdoe, sudo: 'yes' }], /^accounts\[0\]\.sudo "yes" is not true or false; pass true or false$/],
    ['an invalid group', [{ ...jdoe, groups: ['adm,root'] }], /^accounts\[0\]\.groups has "adm,root", which is not a valid group name/],
    ['a group named after an account', [srhea, { ...jdoe, groups: ['srhea'] }], /^accounts\[1\]\.groups has "srhea", which is the name of a listed account; use a team group/],
    ['no account', [], /^accounts is empty; pass at least one account$/],
    ['more than 1000 accounts', Array.from({ length: 1001 }, (_, i) => ({ ...srhea, name: `u${i}`, principals: [`u${i}`] })), /^accounts has 1001 entries, over 1000; put at most 1000 accounts on one host$/],
    ['something that is not a record', [42], /^accounts\[0\] is not an object/],
  ])('fails on %s, naming the field and the value', (_label, accounts, message) => {
    expect(() => encodeAccountTags(accounts as AccountRecord[])).toThrow(message);
  });

  test('accepts exactly the emails lib/users.ts accepts', () => {
    const samples = ['a@b.co', 'Jane.Doe+ops@example.com', "o'brien@example.ie", 'a@b', 'a b@c.com', 'a@-b.com', `${'x'.repeat(65)}@b.co`,
      'a@b.c', `a@${'b'.repeat(63)}.com`, `a@${'b'.repeat(64)}.com`, 'ü@b.com', 'a@b.com.', '#x@b.com'];
    for (const email of samples) {
      let users = true;
      try {
        validateEmail('e', email);
      } catch {
        users = false;
      }
      let tags = true;
      try {
        encodeAccountTags([{ ...srhea, email }]);
      } catch {
        tags = false;
      }
      expect([email, tags]).toEqual([email, users]);
    }
  });
});

function encodeAccountTagsOrUndefined(accounts: AccountRecord[]): string[] | undefined {
  try {
    return encodeAccountTags(accounts);
  } catch {
    return undefined;
  }
}

describe('decodeAccountTags', () => {
  const a = [jdoe, srhea];
  const b = [srhea];

  test('ignores tags that are not account tags', () => {
    expect(decodeAccountTags(['web', 'env:prod', ...encodeAccountTags(a), 'cdadx'])).toEqual({ accounts: [jdoe, srhea] });
  });

  test.each(tagCases(a, b).map((c) => [c.label, c] as const))('%s', (_label, c) => {
    const r = decodeAccountTags(c.tags);
    if (c.valid) expect(r).toHaveProperty('accounts');
    else expect(r).toHaveProperty('error');
  });

  test('says why, for each kind of refusal', () => {
    const tags = encodeAccountTags(a);
    const short = tagsForPayload(tags.map((t) => t.split(':')[4]).join(''), 20);
    expect(decodeAccountTags([])).toEqual({ error: 'no account tags (cdad:...) on this droplet' });
    expect(decodeAccountTags(['cdad:nope'])).toEqual({ error: 'malformed account tag "cdad:nope"' });
    expect(decodeAccountTags(short.slice(1))).toEqual({ error: `no complete valid generation (${generation(short.map((t) => t.split(':')[4]).join(''))}: incomplete, ${short.length - 1} of ${short.length} chunks)` });
    expect(decodeAccountTags([...tags, ...encodeAccountTags(b)])).toEqual({ error: expect.stringMatching(/^2 complete generations \([0-9a-f]{12}, [0-9a-f]{12}\): an update is half done/) });
    expect(decodeAccountTags(tagsForDocument(JSON.stringify({ v: 1, accounts: [jdoe, { ...srhea, principals: ['jane.doe'] }] })))).toEqual({
      error: expect.stringMatching(/: accounts\[1\]\.principals has "jane\.doe", which account "jdoe" accepts too \(principals are compared case-insensitively\)\)$/),
    });
    expect(decodeAccountTags(tagsForDocument(JSON.stringify({ v: 1, accounts: [srhea, jdoe] })))).toEqual({
      error: expect.stringMatching(/: the document is not in canonical form/),
    });
    expect(decodeAccountTags(tagsForPayload(base32(Buffer.from('{}'))))).toEqual({ error: expect.any(String) });
    expect(decodeAccountTags(tagsForPayload(base32(Buffer.from([0xff, 0xfe]))))).toEqual({ error: expect.stringMatching(/the document is not UTF-8 JSON/) });
  });

  test('refuses every broken document', () => {
    for (const d of brokenDocuments(a)) expect([d.label, decodeAccountTags(tagsForDocument(d.text))]).toEqual([d.label, { error: expect.any(String) }]);
  });
});

// ---------------------------------------------------------------------------------------------
// the host agent's decoder (Python) against this one.

const AGENT = join(ROOT, 'cloud-init', 'accounts');
const PYTHON: Requirement = { what: '/usr/bin/python3', aptPackage: 'python3', present: () => existsSync('/usr/bin/python3') };

// the agent's own decode_tags, loaded as a module, over many tag lists in one process.
const DECODE_MANY = `
import importlib.machinery, importlib.util, json, sys
loader = importlib.machinery.SourceFileLoader('accounts', sys.argv[1])
spec = importlib.util.spec_from_loader('accounts', loader)
agent = importlib.util.module_from_spec(spec)
loader.exec_module(agent)
out = []
for tags in json.load(open(sys.argv[2])):
    try:
        out.append({'accounts': agent.decode_tags(tags)})
    except ValueError as e:
        out.append({'error': str(e)})
print(json.dumps(out))
`;

describeReal('the host agent decodes tags as decodeAccountTags does', [PYTHON], () => {
  afterAll(() => removeTempDirs());

  test('accounts --decode prints the accounts, or the reason and exits 4', () => {
    const tags = encodeAccountTags([jdoe, srhea]);
    const ok = runOk('/usr/bin/python3', [AGENT, '--decode'], { input: ['web', ...tags, ''].join('\n') });
    expect(JSON.parse(ok.stdout)).toEqual(decodeAccountTags(tags));
    expect(ok.stderr).toBe('');
    const refused = run('/usr/bin/python3', [AGENT, '--decode'], { input: tags.slice(1).join('\n') });
    expect(refused.status).toBe(4);
    expect(JSON.parse(refused.stdout)).toEqual({ error: expect.stringMatching(/^no complete valid generation \([0-9a-f]{12}: incomplete, 1 of 2 chunks\)$/) });
    // CRLF and blank lines, as an HTTP body may have them.
    expect(JSON.parse(runOk('/usr/bin/python3', [AGENT, '--decode'], { input: `\r\n${tags.join('\r\n')}\r\n\r\n` }).stdout)).toEqual(decodeAccountTags(tags));
  });

  test('the same verdict and the same accounts on valid and broken tag lists nobody listed', () => {
    const rand = prng(2024);
    const pools = { names: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', '_svc', 'x-1'], groups: ['www-data', 'users', 'adm', 'team-a', 'cdrom', 'docker'] };
    const lists: string[][] = [];
    const labels: string[] = [];
    for (let i = 0; i < 25; i++) {
      const a = randomAccounts(rand, pools);
      const b = randomAccounts(rand, pools);
      if (a.length < 2) a.push({ name: 'zed', email: 'zed@example.com', principals: ['zed'], sudo: false, groups: [] });
      for (const c of tagCases(a, b)) {
        lists.push(c.tags);
        labels.push(c.label);
        // and a random subset and shuffle of the same tags.
        lists.push(c.tags.filter(() => rand() < 0.8).sort(() => rand() - 0.5));
        labels.push(`${c.label}, shuffled subset`);
      }
    }
    const dir = makeTempDir('tags');
    const file = join(dir, 'tags.json');
    writeFileSync(file, JSON.stringify(lists));
    const script = join(dir, 'decode-many.py');
    writeFileSync(script, DECODE_MANY);
    const python = JSON.parse(runOk('/usr/bin/python3', [script, AGENT, file], { timeoutMs: 60000 }).stdout) as ({ accounts: unknown } | { error: string })[];
    expect(python).toHaveLength(lists.length);
    let accepted = 0;
    lists.forEach((tags, i) => {
      const ts = decodeAccountTags(tags);
      const verdict = (r: object) => ('accounts' in r ? r : 'refused');
      expect([labels[i], verdict(python[i])]).toEqual([labels[i], verdict(ts)]);
      if ('accounts' in ts) accepted++;
    });
    // both kinds are there in numbers.
    expect(accepted).toBeGreaterThan(100);
    expect(lists.length - accepted).toBeGreaterThan(1000);
  });
});
