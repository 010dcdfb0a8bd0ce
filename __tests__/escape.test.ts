// lib/internal/escape.ts without terraform: `literal` escapes template sequences in plain strings
// and leaves tokens and objects alone. __tests__/real/literal-escaping.test.ts shows with real
// terraform that every literal the constructs write comes out as written.
import { escapeTerraformTemplate, literal } from '../lib/internal/escape';

const HOSTILE = '${var.x}%{ if true }y%{ endif }';

describe('literal', () => {
  test('escapes template sequences in every string at any depth, once, and leaves tokens, numbers and objects alone', () => {
    const construct = { node: 'a construct' };
    class NotPlain { public readonly text = '${var.x}'; }
    const notPlain = new NotPlain();
    const out = literal({
      name: HOSTILE,
      token: 'id ${TfToken[TOKEN.12]} and ${var.x}',
      list: ['%{x}', 3, { deeper: ['${a}'] }],
      number: 42,
      dependsOn: [construct],
      other: notPlain,
    });
    expect(out).toEqual({
      name: '$${var.x}%%{ if true }y%%{ endif }',
      token: 'id ${TfToken[TOKEN.12]} and $${var.x}',
      list: ['%%{x}', 3, { deeper: ['$${a}'] }],
      number: 42,
      dependsOn: [construct],
      other: notPlain,
    });
    expect(out.dependsOn[0]).toBe(construct);
    expect(out.other).toBe(notPlain);
    expect(escapeTerraformTemplate('#{TfToken[TOKEN.3]} ${TfToken[TOKEN.4]}')).toBe('#{TfToken[TOKEN.3]} ${TfToken[TOKEN.4]}');
  });
});
