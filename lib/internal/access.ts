// Access: reusable policies, and the two kinds of application with what they trust (the
// self-hosted one's short-lived certificate CA; the infrastructure one's per-user policies).
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { ResolvedPolicyRules, validateAccessRulesOnSynth } from '../access-policy-rules';
import { AccessRule } from '../access-rule';
import { applyCaRotation } from './droplet-extras';
import { literal } from './escape';

/** Cloudflare's limit on public hostnames (destinations) in one Access application. */
export const ACCESS_DOMAINS_PER_APPLICATION = 5;
/** Cloudflare's default limit on Access applications per account. */
export const ACCESS_APPLICATIONS_PER_ACCOUNT = 500;

/** rules in the binding's shape; an empty list is left out. */
export function providerRules(rules: AccessRule[]) {
  return rules.length > 0 ? rules.map((r) => r.toProvider()) : undefined;
}

/** attaches the warnings of checked rules to the construct the user created. */
export function warnAbout(scope: Construct, rules: ResolvedPolicyRules) {
  rules.warnings.forEach((w) => Annotations.of(scope).addWarning(w));
}

/** an allow policy from checked rules (see resolvePolicyRules). */
export function defineAccessPolicy(scope: Construct, id: string, accountId: string, name: string, rules: ResolvedPolicyRules) {
  const policy = new ZeroTrustAccessPolicy(scope, id, literal({
    accountId,
    name,
    decision: 'allow',
    include: providerRules(rules.include),
    require: providerRules(rules.require),
    exclude: providerRules(rules.exclude),
  }));
  validateAccessRulesOnSynth(policy);
  return policy;
}

/** the application options both kinds of application take from the props. */
export interface ApplicationOptions {
  readonly accountId: string;
  readonly name: string;
  readonly hostnames: string[];
  readonly allowedIdps?: string[];
  readonly autoRedirectToIdentity?: boolean;
  readonly tags?: string[];
}

/** a self-hosted Access application for up to five hostnames, and its SSH certificate CA. */
export function defineAccessApplication(
  scope: Construct,
  opts: ApplicationOptions & { policyIds: string[]; sessionDuration?: string; caVersion?: string },
) {
  const application = new ZeroTrustAccessApplication(scope, 'AccessApp', literal({
    accountId: opts.accountId,
    name: opts.name,
    type: 'self_hosted',
    domain: opts.hostnames[0],
    destinations: opts.hostnames.map((uri) => ({ type: 'public', uri })),
    policies: opts.policyIds.map((id, i) => ({ id, precedence: i + 1 })),
    sessionDuration: opts.sessionDuration,
    allowedIdps: opts.allowedIdps,
    autoRedirectToIdentity: opts.autoRedirectToIdentity,
    tags: opts.tags,
  }));
  const certificate = new ZeroTrustAccessShortLivedCertificate(scope, 'ShortLivedCertificate', literal({
    accountId: opts.accountId,
    appId: application.id,
  }));
  applyCaRotation(scope, certificate, opts.caVersion);
  return { application, certificate };
}

/**
 * An Access for Infrastructure application over the targets with these hostnames, with one
 * policy per person that allows only that person's own Unix name: a shared list of usernames
 * would let anyone admitted ask for a certificate for anyone else's account.
 */
export function defineInfrastructureApplication(
  scope: Construct,
  opts: ApplicationOptions & {
    policyName: string; users: { email: string; unixName: string }[]; require: AccessRule[]; exclude: AccessRule[];
  },
) {
  const application = new ZeroTrustAccessApplication(scope, 'AccessApp', literal({
    accountId: opts.accountId,
    name: opts.name,
    type: 'infrastructure',
    targetCriteria: [{ port: 22, protocol: 'SSH', targetAttributes: { hostname: opts.hostnames } }],
    policies: opts.users.map((u, i) => ({
      name: `${opts.policyName} ${u.unixName}`,
      decision: 'allow',
      precedence: i + 1,
      include: [AccessRule.email(u.email).toProvider()],
      require: providerRules(opts.require),
      exclude: providerRules(opts.exclude),
      connectionRules: { ssh: { usernames: [u.unixName], allowEmailAlias: false } },
    })),
    allowedIdps: opts.allowedIdps,
    autoRedirectToIdentity: opts.autoRedirectToIdentity,
    tags: opts.tags,
  }));
  validateAccessRulesOnSynth(application);
  return application;
}
