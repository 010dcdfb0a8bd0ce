import { resolveUsers, UNIX_NAME_PATTERN } from '../lib/users';

describe('resolveUsers', () => {
  test('derives the Unix name from the email local part', () => {
    expect(resolveUsers(['srhea@cloudflare.com'])).toEqual([
      { email: 'srhea@cloudflare.com', principal: 'srhea', unixName: 'srhea', sudo: false, groups: [] },
    ]);
  });

  test('keeps the principal when unixName differs', () => {
    expect(resolveUsers([{ email: 'Jane.Doe+ops@example.com', unixName: 'jdoe', sudo: true, groups: ['adm'] }])).toEqual([
      { email: 'Jane.Doe+ops@example.com', principal: 'Jane.Doe+ops', unixName: 'jdoe', sudo: true, groups: ['adm'] },
    ]);
  });

  test.each(['a', 'svc_1', 'j-doe', 'jdoe_2', 'a'.repeat(32)])('accepts the Unix name %s', (name) => {
    expect(UNIX_NAME_PATTERN.test(name)).toBe(true);
    expect(resolveUsers([{ email: 'x@example.com', unixName: name }])[0].unixName).toBe(name);
  });

  test.each(['j.doe', 'jdoe+x', "o'brien", 'Jdoe', '1abc', '-abc', '', 'a'.repeat(33), 'jd oe'])('fails on the Unix name %j', (name) => {
    expect(() => resolveUsers([{ email: 'x@example.com', unixName: name }])).toThrow(/is not a valid Unix user name/);
  });

  test('fails on a group name that is not valid', () => {
    expect(() => resolveUsers([{ email: 'x@example.com', groups: ['adm,root'] }])).toThrow(/users\[0\]\.groups has "adm,root"/);
  });

  test('fails on a user that is neither email nor object', () => {
    expect(() => resolveUsers([42 as any])).toThrow(/users\[0\] 42 is neither an email/);
  });
});

test('fails on names that start with an underscore (Debian system accounts like _apt)', () => {
  expect(() => resolveUsers([{ email: 'x@example.com', unixName: '_apt' }])).toThrow(/unix name "_apt" is reserved/);
});
