// issue 7: Access rules, application options, identity mapping and the infrastructure mode.
import { Testing, TerraformStack } from 'cdktf';
import {
  ZeroTrustAccessApplication, zeroTrustAccessApplicationPoliciesExcludeToTerraform, zeroTrustAccessApplicationPoliciesIncludeToTerraform,
  zeroTrustAccessApplicationPoliciesRequireToTerraform,
} from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import {
  zeroTrustAccessPolicyExcludeToTerraform, zeroTrustAccessPolicyIncludeToTerraform, zeroTrustAccessPolicyRequireToTerraform,
} from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessInfrastructureTarget } from '@cdktf/provider-cloudflare/lib/zero-trust-access-infrastructure-target';
import { ZeroTrustTunnelCloudflaredRoute } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-route';
import { parse } from 'yaml';
import { AccessDroplet, AccessDropletProps, AccessMode, AccessRule, UnixNameStyle } from '../lib';
import { emptyRuleProblems } from '../lib/access-policy-rules';
import { accessRuleKinds } from '../lib/access-rule';
import { accountsOf, CA_KEY, minimalProps, resourcesOf } from './fixtures';

const GROUP = '8b1e3c4a-0000-4000-8000-00000000aaaa';
const IDP = 'f174e90a-fafe-4643-bbbc-4a0ed4fc8415';

function synth(props: Partial<AccessDropletProps>): string {
  return Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, ...props }));
}

function construct(props: Partial<AccessDropletProps>) {
  return new AccessDroplet(new TerraformStack(Testing.app(), 'stack'), 'Test', { ...minimalProps, ...props } as AccessDropletProps);
}

function warningsOf(ad: AccessDroplet): string[] {
  return ad.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
}

function policyOf(out: string) {
  const policies = resourcesOf(out, 'cloudflare_zero_trust_access_policy');
  expect(policies).toHaveLength(1);
  return policies[0];
}

/** the cloud-config of the synthesized droplet, with Terraform expressions left as text. */
function cloudConfigOf(out: string) {
  return parse(resourcesOf(out, 'digitalocean_droplet')[0].user_data);
}

/** the accounts the synthesized droplet's tags carry, in order. */
function accountList(out: string) {
  return Object.values(accountsOf(resourcesOf(out, 'digitalocean_droplet')[0]));
}

describe('AccessRule', () => {
  test.each([
    ['email', AccessRule.email('a@example.com'), { email: { email: 'a@example.com' } }],
    ['emailDomain', AccessRule.emailDomain('@example.com'), { emailDomain: { domain: 'example.com' } }],
    ['group', AccessRule.group(GROUP), { group: { id: GROUP } }],
    ['loginMethod', AccessRule.loginMethod(IDP), { loginMethod: { id: IDP } }],
    ['everyone', AccessRule.everyone(), { everyone: {} }],
    ['raw', AccessRule.raw({ githubOrganization: { identityProviderId: IDP, name: 'widgetcorp' } }), { githubOrganization: { identityProviderId: IDP, name: 'widgetcorp' } }],
  ])('%s builds the provider rule', (_n, rule, shape) => {
    expect(rule.toProvider()).toEqual(shape);
  });

  test('knows which rules admit everyone', () => {
    expect(AccessRule.everyone().admitsEveryone).toBe(true);
    expect(AccessRule.raw({ everyone: {} }).admitsEveryone).toBe(true);
    expect(AccessRule.emailDomain('example.com').admitsEveryone).toBe(false);
  });

  test.each([
    ['fails on a malformed email', () => AccessRule.email('nope'), /AccessRule\.email "nope" is not an email address/],
    ['fails on a wildcard domain', () => AccessRule.emailDomain('*'), /AccessRule\.emailDomain "\*" is not an email domain/],
    ['fails on a public email domain', () => AccessRule.emailDomain('gmail.com'), /"gmail\.com" is a public email provider/],
    ['fails on a group id with spaces', () => AccessRule.group('my group'), /AccessRule\.group "my group" is not a Cloudflare id/],
    ['fails on an empty login method', () => AccessRule.loginMethod(''), /AccessRule\.loginMethod "" is not a Cloudflare id/],
    ['fails on a raw rule with two kinds', () => AccessRule.raw({ email: {}, group: {} }), /AccessRule\.raw .* must have exactly one key/],
  ])('%s', (_n, build, message) => {
    expect(build).toThrow(message);
  });
});

describe('policy rules', () => {
  test('default stays exactly the listed users', () => {
    const policy = policyOf(synth({}));
    expect(policy.include).toEqual([{ email: { email: 'srhea@cloudflare.com' } }]);
    expect(policy.require).toBeUndefined();
    expect(policy.exclude).toBeUndefined();
  });

  test('include, require and exclude from typed helpers and a raw rule (snapshot)', () => {
    const out = synth({
      accessInclude: [AccessRule.group(GROUP), AccessRule.raw({ githubOrganization: { identityProviderId: IDP, name: 'widgetcorp' } })],
      accessRequire: [AccessRule.loginMethod(IDP), AccessRule.emailDomain('cloudflare.com')],
      accessExclude: [AccessRule.email('contractor@cloudflare.com')],
      dangerouslyAllowImpersonation: true,
    });
    const policy = policyOf(out);
    expect(policy.include).toEqual([
      { email: { email: 'srhea@cloudflare.com' } },
      { group: { id: GROUP } },
      { github_organization: { identity_provider_id: IDP, name: 'widgetcorp' } },
    ]);
    expect(policy.require).toEqual([{ login_method: { id: IDP } }, { email_domain: { domain: 'cloudflare.com' } }]);
    expect(policy.exclude).toEqual([{ email: { email: 'contractor@cloudflare.com' } }]);
    expect(policy).toMatchSnapshot();
  });

  test('fails on an everyone rule without the opt-in flag', () => {
    expect(() => construct({ accessInclude: [AccessRule.everyone()] })).toThrow(
      /accessInclude\[0\] \(everyone\) admits anyone who can sign in; set dangerouslyAllowEveryone: true/,
    );
    expect(() => construct({ accessInclude: [AccessRule.raw({ everyone: {} })] })).toThrow(/dangerouslyAllowEveryone/);
  });

  test('admits everyone only with dangerouslyAllowEveryone, and warns loudly', () => {
    const ad = construct({ accessInclude: [AccessRule.everyone()], dangerouslyAllowEveryone: true });
    expect(warningsOf(ad)).toContainEqual(expect.stringMatching(/^DANGER: dangerouslyAllowEveryone is set and the Access policy admits everyone/));
    const out = Testing.synth(ad.node.scope as TerraformStack);
    expect(policyOf(out).include).toContainEqual({ everyone: {} });
  });

  test('warns about a flag that does nothing, and loudly about rules accepted by dangerouslyAllowImpersonation', () => {
    expect(warningsOf(construct({ dangerouslyAllowEveryone: true }))).toEqual([expect.stringMatching(/no rule admits everyone; remove the flag/)]);
    expect(warningsOf(construct({ accessInclude: [AccessRule.group(GROUP)], dangerouslyAllowImpersonation: true }))).toEqual([
      expect.stringMatching(/^DANGER \(dangerouslyAllowImpersonation\): accessInclude\[0\] \(group 8b1e3c4a-0000-4000-8000-00000000aaaa\) admits people by something other than their email.* local part is "srhea" would open srhea@cloudflare\.com's account/),
    ]);
    expect(warningsOf(construct({ accessExclude: [AccessRule.email('srhea@cloudflare.com')] }))).toEqual([
      expect.stringMatching(/accessExclude\[0\] excludes srhea@cloudflare\.com, who is one of the users/),
    ]);
  });

  test.each([
    ['fails on an exclude that shuts everybody out', { accessExclude: [AccessRule.everyone()] }, /accessExclude\[0\] \(everyone\) shuts everybody out/],
    ['fails on a plain object instead of a rule', { accessInclude: [{ email: { email: 'a@b.co' } }] as any }, /accessInclude\[0\] .* is not an AccessRule/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletProps>)).toThrow(message);
  });

  test('removing a user revokes Access at once and the account on the running droplet, which stays', () => {
    const both = synth({ users: ['srhea@cloudflare.com', 'jdoe@cloudflare.com'] });
    const one = synth({ users: ['srhea@cloudflare.com'] });
    expect(policyOf(both).include).toContainEqual({ email: { email: 'jdoe@cloudflare.com' } });
    expect(policyOf(one).include).not.toContainEqual({ email: { email: 'jdoe@cloudflare.com' } });
    expect(accountList(both).map((a) => a.name).sort()).toEqual(['jdoe', 'srhea']);
    expect(accountList(one).map((a) => a.name)).toEqual(['srhea']);
    // user_data is the same: the droplet stays, and its accounts agent locks jdoe (the tags changed).
    expect(resourcesOf(both, 'digitalocean_droplet')[0].user_data).toBe(resourcesOf(one, 'digitalocean_droplet')[0].user_data);
  });
});

describe('application options', () => {
  test('session duration, allowed IdPs, auto-redirect, name and tags', () => {
    const out = synth({
      accessSessionDuration: '8h', accessAllowedIdps: [IDP], accessAutoRedirectToIdentity: true, accessAppName: 'Bastion SSH', accessTags: ['ssh', 'prod'],
    });
    expect(out).toHaveResourceWithProperties(ZeroTrustAccessApplication, {
      name: 'Bastion SSH', session_duration: '8h', allowed_idps: [IDP], auto_redirect_to_identity: true, tags: ['ssh', 'prod'],
    });
  });

  test('an existing reusable policy instead of a new one', () => {
    expect(() => construct({ accessPolicyIds: ['policy-1'] })).toThrow(/accessPolicyIds attaches policies the construct cannot read.*dangerouslyAllowImpersonation: true/);
    const ad = construct({ accessPolicyIds: ['policy-1', 'policy-2'], dangerouslyAllowImpersonation: true });
    const out = Testing.synth(ad.node.scope as TerraformStack);
    expect(resourcesOf(out, 'cloudflare_zero_trust_access_policy')).toHaveLength(0);
    expect(resourcesOf(out, 'cloudflare_zero_trust_access_application')[0].policies).toEqual([
      { id: 'policy-1', precedence: 1 }, { id: 'policy-2', precedence: 2 },
    ]);
    expect(ad.accessPolicy).toBeUndefined();
    expect(warningsOf(ad)).toEqual([
      expect.stringMatching(/Access admits whoever the 2 existing policies allow/),
      expect.stringMatching(/^DANGER \(dangerouslyAllowImpersonation\): accessPolicyIds attaches policies the construct cannot read/),
    ]);
  });

  test.each([
    ['fails on auto-redirect without exactly one IdP', { accessAutoRedirectToIdentity: true }, /accessAutoRedirectToIdentity needs exactly one identity provider in accessAllowedIdps, got none/],
    ['fails on auto-redirect with two IdPs', { accessAutoRedirectToIdentity: true, accessAllowedIdps: ['a1', 'b2'] }, /needs exactly one identity provider in accessAllowedIdps, got 2/],
    ['fails on a malformed session duration', { accessSessionDuration: '1 day' }, /accessSessionDuration "1 day" is not a duration such as "24h"/],
    ['fails on an empty policy id list', { accessPolicyIds: [] }, /accessPolicyIds is empty/],
    ['fails on policy ids with allow', { accessPolicyIds: ['p1'], allow: { emailDomains: ['example.com'] } }, /allow cannot be combined with accessPolicyIds/],
    ['fails on policy ids with require', { accessPolicyIds: ['p1'], accessRequire: [AccessRule.group(GROUP)] }, /accessRequire cannot be combined with accessPolicyIds/],
    ['fails on an empty tag', { accessTags: [' '] }, /accessTags\[0\] " " must be a tag name/],
    ['fails on an empty app name', { accessAppName: '' }, /accessAppName "" must be a non-empty name/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletProps>)).toThrow(message);
  });
});

describe('identity mapping', () => {
  test('a map from email to Unix name; the certificate keeps the email local part', () => {
    const accounts = accountList(synth({ users: ['Jane.Doe+ops@example.com'], unixNames: { 'jane.doe+ops@example.com': 'jdoe' } }));
    expect(accounts.map((a) => [a.name, a.principals])).toEqual([['jdoe', ['Jane.Doe+ops', 'jane.doe+ops']]]);
  });

  test('a normalizing style for IdPs whose local parts are not Unix names', () => {
    const accounts = accountList(synth({ users: ['Jane.Doe+ops@example.com', 'bob@example.com'], unixNameStyle: UnixNameStyle.NORMALIZED }));
    expect(accounts.map((a) => a.name).sort()).toEqual(['bob', 'jane_doe']);
  });

  test('extra groups and sudo per user', () => {
    const accounts = accountList(synth({ users: [{ email: 'ops@example.com', sudo: true, groups: ['adm', 'docker'] }, 'dev@example.com'] }));
    expect(accounts).toEqual([
      { name: 'dev', email: 'dev@example.com', principals: ['dev'], sudo: false, groups: [] },
      { name: 'ops', email: 'ops@example.com', principals: ['ops'], sudo: true, groups: ['adm', 'docker'] },
    ]);
  });

  test.each([
    ['fails when the mapping makes two people one account', { users: ['jane.doe@a.com', 'jane_doe@b.com'], unixNameStyle: UnixNameStyle.NORMALIZED },
      /users\[1\] unix name "jane_doe" \(from unixNameStyle normalized\) \(jane_doe@b\.com\) is already used by jane\.doe@a\.com/],
    ['fails when a map entry collides with another user', { users: ['jdoe@a.com', 'jane@b.com'], unixNames: { 'jane@b.com': 'jdoe' } },
      /users\[1\] unix name "jdoe" \(from unixNames\) \(jane@b\.com\) is already used by jdoe@a\.com/],
    ['fails on a map entry that is no Unix name', { users: ['jane@b.com'], unixNames: { 'jane@b.com': 'Jane Doe' } }, /unix name "Jane Doe" \(from unixNames\) is not a valid Unix user name/],
    ['fails on a map entry for root', { users: ['jane@b.com'], unixNames: { 'jane@b.com': 'root' } }, /unix name "root" \(from unixNames\) is reserved/],
    ['fails on a map key that is no email', { unixNames: { jane: 'jdoe' } }, /unixNames key "jane" is not an email address/],
    ['hints at the mapping options for a local part that is no Unix name', { users: ['Jane.Doe@b.com'] }, /a unixNames entry, or unixNameStyle: UnixNameStyle\.NORMALIZED/],
  ])('%s', (_n, props, message) => {
    expect(() => construct(props as Partial<AccessDropletProps>)).toThrow(message);
  });
});

describe('infrastructure mode', () => {
  const infra: Partial<AccessDropletProps> = {
    mode: AccessMode.INFRASTRUCTURE,
    zoneId: undefined,
    hostname: 'bastion.internal.widgetcorp.tech',
    users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }],
    infrastructureCaPublicKey: CA_KEY,
  };

  test('synthesizes target, route, infrastructure app and per-user policies (snapshot)', () => {
    expect(synth(infra)).toMatchSnapshot();
  });

  test('defines an infrastructure target at the droplet private address, routed through the tunnel', () => {
    const out = synth(infra);
    const dropletIp = expect.stringMatching(/^\$\{digitalocean_droplet\.Test_Droplet_[0-9A-F]+\.ipv4_address_private\}$/);
    expect(out).toHaveResourceWithProperties(ZeroTrustAccessInfrastructureTarget, {
      account_id: 'acc123', hostname: 'bastion.internal.widgetcorp.tech', ip: { ipv4: { ip_addr: dropletIp } },
    });
    expect(out).toHaveResourceWithProperties(ZeroTrustTunnelCloudflaredRoute, {
      account_id: 'acc123',
      network: expect.stringMatching(/^\$\{digitalocean_droplet\.Test_Droplet_[0-9A-F]+\.ipv4_address_private\}\/32$/),
      tunnel_id: expect.stringMatching(/^\$\{cloudflare_zero_trust_tunnel_cloudflared\.Test_Tunnel_[0-9A-F]+\.id\}$/),
    });
    // no public hostname: no DNS record, no short-lived certificate, no public ingress rule.
    for (const t of ['cloudflare_dns_record', 'cloudflare_zero_trust_access_short_lived_certificate', 'cloudflare_zero_trust_access_policy']) {
      expect(resourcesOf(out, t)).toHaveLength(0);
    }
    expect(resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config')[0].config).toEqual({ ingress: [{ service: 'http_status:404' }] });
    expect(resourcesOf(out, 'digitalocean_firewall')[0].inbound_rule).toBeUndefined();
  });

  test('one policy per user allows exactly that user\'s Unix name', () => {
    const [app] = resourcesOf(synth({ ...infra, accessRequire: [AccessRule.loginMethod(IDP)] }), 'cloudflare_zero_trust_access_application');
    expect(app.type).toBe('infrastructure');
    expect(app.target_criteria).toEqual([{ port: 22, protocol: 'SSH', target_attributes: { hostname: ['bastion.internal.widgetcorp.tech'] } }]);
    expect(app.policies).toEqual([
      {
        name: 'bastion-internal-widgetcorp-tech srhea', decision: 'allow', precedence: 1,
        include: [{ email: { email: 'srhea@cloudflare.com' } }], require: [{ login_method: { id: IDP } }],
        connection_rules: { ssh: { usernames: ['srhea'], allow_email_alias: false } },
      },
      {
        name: 'bastion-internal-widgetcorp-tech jdoe', decision: 'allow', precedence: 2,
        include: [{ email: { email: 'jane.doe@example.com' } }], require: [{ login_method: { id: IDP } }],
        connection_rules: { ssh: { usernames: ['jdoe'], allow_email_alias: false } },
      },
    ]);
  });

  test('the droplet trusts the account SSH CA and accepts each Unix name as principal', () => {
    const doc = cloudConfigOf(synth(infra));
    expect(doc.write_files.find((f: any) => f.path === '/etc/ssh/ca.pub').content).toBe(`${CA_KEY}\n`);
    expect(accountList(synth(infra)).map((a) => [a.name, a.principals])).toEqual([['jdoe', ['jdoe']], ['srhea', ['srhea']]]);
  });

  test('the ssh config points at the private address for WARP clients', () => {
    const ad = construct(infra);
    expect(ad.sshConfig).toMatch(/^# Access for Infrastructure: connect with the WARP client/);
    expect(ad.dnsRecord).toBeUndefined();
    expect(ad.infrastructureTarget).toBeInstanceOf(ZeroTrustAccessInfrastructureTarget);
    expect(ad.mode).toBe(AccessMode.INFRASTRUCTURE);
  });

  test.each([
    ['fails without the account SSH CA key', { infrastructureCaPublicKey: undefined }, /infrastructureCaPublicKey is required in infrastructure mode/],
    ['fails on a CA key that is no SSH key', { infrastructureCaPublicKey: 'not a key' }, /caPublicKey "not a key" is not a one-line OpenSSH public key/],
    ['fails on allow', { allow: { emailDomains: ['example.com'] } }, /allow has no effect in infrastructure mode/],
    ['fails on accessInclude', { accessInclude: [AccessRule.group(GROUP)] }, /accessInclude has no effect in infrastructure mode/],
    ['fails on existing policy ids', { accessPolicyIds: ['p1'] }, /accessPolicyIds works in self-hosted mode only/],
    ['fails on a session duration', { accessSessionDuration: '8h' }, /accessSessionDuration is not supported for infrastructure applications/],
    ['fails on an unknown mode', { mode: 'bastion' as any }, /mode "bastion" is not one of self_hosted, infrastructure/],
  ])('%s', (_n, props, message) => {
    expect(() => construct({ ...infra, ...props } as Partial<AccessDropletProps>)).toThrow(message);
  });

  test('fails on infrastructure props in self-hosted mode', () => {
    expect(() => construct({ infrastructureCaPublicKey: CA_KEY })).toThrow(/apply to infrastructure mode only/);
  });

  test('fails without a zone id in self-hosted mode', () => {
    expect(() => construct({ zoneId: undefined })).toThrow(/zoneId undefined must be a non-empty Cloudflare id/);
  });
});

// issue 10 item 3: a rule never silently disappears, and nothing admits everyone by accident.
describe('AccessRule.raw only takes rules the binding synthesizes', () => {
  const kinds = [...accessRuleKinds().values()];

  test('the rule kinds come from the binding, and include, require, exclude and inline policies share them', () => {
    const terraformKinds = kinds.map((k) => k.terraformKind).sort();
    expect(terraformKinds).toEqual(expect.arrayContaining(['email', 'email_domain', 'everyone', 'group', 'ip', 'login_method', 'github_organization']));
    for (const mapper of [zeroTrustAccessPolicyIncludeToTerraform, zeroTrustAccessPolicyRequireToTerraform, zeroTrustAccessPolicyExcludeToTerraform,
      zeroTrustAccessApplicationPoliciesIncludeToTerraform, zeroTrustAccessApplicationPoliciesRequireToTerraform, zeroTrustAccessApplicationPoliciesExcludeToTerraform]) {
      expect(Object.keys(mapper({})).sort()).toEqual(terraformKinds);
    }
  });

  test('every kind, with every field, survives into include, require and exclude of the synthesized policy', () => {
    for (const kind of kinds) {
      if (kind.kind === 'everyone') continue;
      const inner = Object.fromEntries([...kind.fields.keys()].map((f) => [f, f === 'ip' ? '10.0.0.0/8' : `v-${f}`]));
      const rule = AccessRule.raw({ [kind.kind]: inner });
      const policy = policyOf(synth({ accessInclude: [rule], accessRequire: [rule], accessExclude: [rule], dangerouslyAllowImpersonation: kind.kind !== 'email' }));
      const expected = { [kind.terraformKind]: Object.fromEntries([...kind.fields.entries()].map(([f, snake]) => [snake, inner[f]])) };
      expect(policy.include).toContainEqual(expected);
      expect(policy.require).toEqual([expected]);
      expect(policy.exclude).toEqual([expected]);
    }
  });

  test.each([
    ['the snake_case spelling of the provider docs', { login_method: { id: IDP } }, /AccessRule\.raw kind "login_method" is not a rule kind the provider binding knows .*write it "loginMethod"/],
    ['an unknown kind', { loginMethods: { id: IDP } }, /kind "loginMethods" is not a rule kind .*use one of .*loginMethod/],
    ['Everyone spelled with a capital', { Everyone: {} }, /kind "Everyone" .*write it "everyone"/],
    ['an empty inner object', { loginMethod: {} }, /AccessRule\.raw loginMethod is empty.*\{ loginMethod: \{ id: "\.\.\." \} \}/],
    ['a field the binding drops', { githubOrganization: { identity_provider_id: IDP, name: 'w' } }, /githubOrganization has field "identity_provider_id", which the binding would drop; write it "identityProviderId"/],
    ['a field on a kind without fields', { everyone: { all: true } }, /everyone has field "all".*takes no fields/],
    ['an inner value that is not an object', { group: IDP }, /AccessRule\.raw group must be an object such as \{ group: \{ id: "\.\.\." \} \}/],
  ])('fails on %s', (_, rule, message) => {
    expect(() => AccessRule.raw(rule as any)).toThrow(message);
  });

  test.each(['0.0.0.0/0', '::/0', '10.1.2.3/0'])('fails on an ip rule for %s without dangerouslyAllowEveryone', (cidr) => {
    expect(AccessRule.ip(cidr).admitsEveryone).toBe(true);
    expect(AccessRule.raw({ ip: { ip: cidr } }).admitsEveryone).toBe(true);
    expect(() => construct({ accessInclude: [AccessRule.ip(cidr)] })).toThrow(
      new RegExp(`accessInclude\\[0\\] \\(ip ${cidr.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\) admits anyone who can sign in, from any address; set dangerouslyAllowEveryone`),
    );
    expect(() => construct({ accessExclude: [AccessRule.ip(cidr)] })).toThrow(/accessExclude\[0\] \(ip .*\) shuts everybody out/);
  });

  test('an office range is a plain rule', () => {
    expect(AccessRule.ip('192.0.2.0/24').admitsEveryone).toBe(false);
    expect(policyOf(synth({ accessRequire: [AccessRule.ip('192.0.2.0/24')] })).require).toEqual([{ ip: { ip: '192.0.2.0/24' } }]);
  });

  test('fails at synth when the final JSON has an empty rule (e.g. an override), naming where', () => {
    const ad = construct({});
    ad.accessPolicy!.addOverride('require', [{}]);
    expect(() => Testing.synth(ad.node.scope as TerraformStack, true)).toThrow(/Access policy rules: resource\..*\.require\[0\] is an empty rule \{\}/);
    // control: the same check finds nothing in a clean policy (the stack's other validation, a
    // missing provider construct, is not ours).
    const clean = construct({ accessRequire: [AccessRule.loginMethod(IDP)] });
    const messages = clean.node.scope!.node.findAll().flatMap((c) => c.node.validate());
    expect(messages.filter((m) => /Access policy rules/.test(m))).toEqual([]);
    expect(ad.node.scope!.node.findAll().flatMap((c) => c.node.validate()).filter((m) => /Access policy rules/.test(m))).toHaveLength(1);
  });

  test('fails at synth on an inline infrastructure policy whose rule lost its fields', () => {
    const ad = construct({ mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: CA_KEY });
    ad.accessApplication.addOverride('policies.0.exclude', [{ login_method: {} }]);
    expect(() => Testing.synth(ad.node.scope as TerraformStack, true)).toThrow(/policies\[0\]\.exclude\[0\]\.login_method is empty/);
  });

  test('emptyRuleProblems reads Terraform JSON at any depth', () => {
    expect(emptyRuleProblems({ include: [{ email: { email: 'a@b.co' } }], require: ['${var.r}'] })).toEqual([]);
    expect(emptyRuleProblems({ policies: [{ include: [{}, { nope: {} }] }] })).toEqual([
      expect.stringMatching(/^policies\[0\]\.include\[0\] is an empty rule/),
      'policies[0].include[1] has rule kind "nope", which the provider does not know',
    ]);
  });
});
