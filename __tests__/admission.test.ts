// One principal, one person (issue 19.1, lib/plan/admission.ts): for every principal that opens an
// account on a host, exactly one identity Access may admit to that host carries it.
import { Testing, TerraformStack } from 'cdktf';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode, AccessRule } from '../lib';
import { accessRuleKinds } from '../lib/access-rule';
import { checkAdmission } from '../lib/plan/admission';
import { CA_KEY, fleetProps, minimalProps, warningsOf } from './fixtures';

const droplet = (props: Partial<AccessDropletProps>) => {
  const stack = new TerraformStack(Testing.app(), 's');
  new CloudflareProvider(stack, 'cloudflare', {});
  new DigitaloceanProvider(stack, 'digitalocean', {});
  return new AccessDroplet(stack, 'T', { ...minimalProps, ...props } as AccessDropletProps);
};
const fleet = (props: Partial<AccessDropletFleetProps>) => new AccessDropletFleet(new TerraformStack(Testing.app(), 's'), 'F', { ...fleetProps, ...props } as AccessDropletFleetProps);
const ALICE = { users: ['alice@corp.com'] };

describe('one principal, one person: the cases of the review', () => {
  test.each<[string, () => unknown, RegExp]>([
    ['allow.emails with a user\'s local part', () => droplet({ ...ALICE, allow: { emails: ['alice@contractor.io'] } }),
      /allow\.emails\[0\] alice@contractor\.io and users\[0\] alice@corp\.com would both get certificates for principal "alice"/],
    ['an accessInclude email with a user\'s local part, in another case', () => droplet({ ...ALICE, accessInclude: [AccessRule.email('Alice@contractor.io')] }),
      /accessInclude\[0\] Alice@contractor\.io and users\[0\] alice@corp\.com would both get certificates for principal "alice"/],
    ['a fleet\'s allow.emails against one host\'s own users', () => fleet({ allow: { emails: ['alice@contractor.io'] }, hosts: [{ hostname: 'a.widgetcorp.tech', users: ['alice@corp.com'] }] }),
      /a\.widgetcorp\.tech: hosts\[0\]\.users\[0\] alice@corp\.com and allow\.emails\[0\] alice@contractor\.io would both get/],
    ['a raw emailDomain at a public provider', () => droplet({ accessInclude: [AccessRule.raw({ emailDomain: { domain: 'gmail.com' } })] }),
      /accessInclude\[0\] admits anyone at gmail\.com, so srhea@gmail\.com would get certificates for principal "srhea" and open srhea@cloudflare\.com's account/],
    ['a raw geo rule', () => droplet({ accessInclude: [AccessRule.raw({ geo: { countryCode: 'US' } })] }), /accessInclude\[0\] \(geo US\) admits people by something other than their email/],
    ['a raw certificate rule', () => droplet({ accessInclude: [AccessRule.raw({ certificate: {} })] }), /accessInclude\[0\] \(certificate\) admits people by something other/],
    ['any valid service token', () => droplet({ accessInclude: [AccessRule.raw({ anyValidServiceToken: {} })] }), /accessInclude\[0\] \(anyValidServiceToken\) admits people/],
    ['two halves of the internet', () => droplet({ accessInclude: [AccessRule.ip('0.0.0.0/1'), AccessRule.ip('128.0.0.0/1')] }), /accessInclude\[0\] \(ip 0\.0\.0\.0\/1\) admits people by something other/],
    ['the same email twice, the second with another account and sudo', () => droplet({ users: ['alice@corp.com', { email: 'alice@corp.com', unixName: 'alice2', sudo: true }] }),
      /users\[1\] "alice@corp\.com" is listed twice \(also users\[0\]\); remove the duplicate/],
    ['existing policies nobody can read', () => droplet({ accessPolicyIds: ['p1'] }), /accessPolicyIds attaches policies the construct cannot read/],
  ])('fails on %s', (_name, make, message) => {
    expect(make).toThrow(message);
    // every refusal says how to do it safely, and names the opt-in that accepts the risk.
    try {
      make();
    } catch (e) {
      const text = (e as Error).message;
      if (!/listed twice/.test(text)) expect(text).toMatch(/infrastructure mode .* dangerouslyAllowImpersonation: true/);
    }
  });

  test('an email domain every user is at is safe; another user elsewhere makes it unsafe', () => {
    expect(warningsOf(droplet({ users: ['a@corp.com', 'b@corp.com'], allow: { emailDomains: ['corp.com'] } }))).toEqual([]);
    expect(() => droplet({ users: ['a@corp.com', 'b@partner.io'], allow: { emailDomains: ['corp.com'] } }))
      .toThrow(/admits anyone at corp\.com, so b@corp\.com would get certificates for principal "b" and open b@partner\.io's account/);
  });

  test('accessRequire and accessExclude narrow who passes: any rule kind is fine there', () => {
    const rule = AccessRule.raw({ geo: { countryCode: 'US' } });
    expect(() => droplet({ accessRequire: [rule], accessExclude: [AccessRule.group('g-1')] })).not.toThrow();
  });

  test('every rule kind the binding knows, except exact emails and domains, needs the opt-in to include, and then warns', () => {
    const kinds = [...accessRuleKinds().values()].filter((k) => !['email', 'emailDomain', 'everyone'].includes(k.kind));
    expect(kinds.length).toBeGreaterThan(15);
    for (const kind of kinds) {
      const inner = Object.fromEntries([...kind.fields.keys()].map((f) => [f, f === 'ip' ? '10.0.0.0/8' : `v-${f}`]));
      const rule = AccessRule.raw({ [kind.kind]: inner });
      expect(() => droplet({ accessInclude: [rule] })).toThrow(/admits people by something other than their email/);
      expect(warningsOf(droplet({ accessInclude: [rule], dangerouslyAllowImpersonation: true })))
        .toContainEqual(expect.stringMatching(/^DANGER \(dangerouslyAllowImpersonation\)/));
    }
  });

  test('an access group checks everyone admitted to any of its hosts against every account on them', () => {
    expect(() => fleet({
      allow: { emails: ['bob@partner.io'] },
      hosts: [{ hostname: 'a.widgetcorp.tech', accessGroup: 'g' }, { hostname: 'b.widgetcorp.tech', accessGroup: 'g', users: ['bob@corp.com'] }],
    })).toThrow(/access group "g": hosts\[1\]\.users\[0\] bob@corp\.com and allow\.emails\[0\] bob@partner\.io would both get/);
  });

  test('infrastructure mode has no such risk, and refuses the opt-in as having no effect', () => {
    expect(() => droplet({ zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY, dangerouslyAllowImpersonation: true }))
      .toThrow(/dangerouslyAllowImpersonation has no effect in infrastructure mode/);
  });

  test('an override that adds an include rule is caught when the stack is synthesized', () => {
    const ad = droplet({ users: ['alice@corp.com'] });
    ad.accessPolicy!.addOverride('include', [{ email: { email: 'alice@corp.com' } }, { email: { email: 'alice@contractor.io' } }]);
    expect(() => Testing.synth(ad.node.scope as TerraformStack, true))
      .toThrow(/One principal, one person: droplet\.widgetcorp\.tech: policy "droplet-widgetcorp-tech allow" include\[\d\] alice@contractor\.io and .* principal "alice"/);
    const grouped = droplet({});
    grouped.accessPolicy!.addOverride('include', [{ group: { id: 'g-1' } }]);
    expect(() => Testing.synth(grouped.node.scope as TerraformStack, true)).toThrow(/include\[\d\] \(\{"group":\{"id":"g-1"\}\}\) admits people by something other/);
    expect(() => Testing.synth(droplet({}).node.scope as TerraformStack, true)).not.toThrow();
  });
});

// a small deterministic generator, so a failure names a case that can be run again.
function generator(seed: number) {
  let s = seed;
  const next = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return { pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)], count: (n: number) => Math.floor(next() * (n + 1)) };
}

describe('one principal, one person on inputs nobody listed', () => {
  const LOCALS = ['ann', 'Ann', 'bob', 'cy', 'dee'];
  const DOMAINS = ['corp.com', 'partner.io', 'Corp.com', 'x.dev'];

  test('over 3000 random admissions, the check refuses exactly when two identities could carry one account\'s principal', () => {
    for (let seed = 1; seed <= 3000; seed++) {
      const g = generator(seed);
      const accounts = Array.from({ length: 1 + g.count(2) }, () => ({ email: `${g.pick(LOCALS)}@${g.pick(DOMAINS)}` }))
        .filter((a, i, all) => all.findIndex((b) => b.email.toLowerCase().split('@')[0] === a.email.toLowerCase().split('@')[0]) === i)
        .map((a) => ({ ...a, principal: a.email.split('@')[0] }));
      const emails = Array.from({ length: g.count(3) }, () => `${g.pick(LOCALS)}@${g.pick(DOMAINS)}`);
      const domains = Array.from({ length: g.count(2) }, () => g.pick(DOMAINS).toLowerCase());
      const rules = [
        ...accounts.map((a, i) => ({ kind: 'email', value: a.email, source: `users[${i}]` })),
        ...emails.map((e, i) => ({ kind: 'email', value: e, source: `allow.emails[${i}]` })),
        ...domains.map((d, i) => ({ kind: 'emailDomain', value: d, source: `allow.emailDomains[${i}]` })),
      ];
      // the truth, by brute force: every identity Access may admit, concretely or by domain.
      const admitted = [...accounts.map((a) => a.email), ...emails].map((e) => e.toLowerCase());
      const local = (e: string) => e.split('@')[0].toLowerCase();
      const twoEmails = admitted.some((a) => admitted.some((b) => a !== b && local(a) === local(b)));
      const byDomain = accounts.some((a) => domains.some((d) => `${local(a.email)}@${d}` !== a.email.toLowerCase()));
      const refuse = twoEmails || byDomain;
      const run = () => checkAdmission({ where: `case ${seed}`, accounts, rules, existingPolicies: [] }, {});
      if (refuse) expect(run).toThrow(/would both get certificates|admits anyone at/);
      else expect(run()).toEqual([]);
    }
  });
});
