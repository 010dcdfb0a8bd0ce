// Cloudflare Access, built from the plan (the manual procedure's "Create an Access policy" and
// "Generate a certificate public key"): reusable allow policies, the applications, and each
// self-hosted application's short-lived certificate CA.
import { DataResource } from 'cdktf';
import { DataCloudflareZeroTrustOrganization } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-organization';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { Construct } from 'constructs';
import { validateAccessRulesOnSynth } from '../access-policy-rules';
import { AccessRule } from '../access-rule';
import { escapeTerraformTemplate, literal } from '../internal/escape';
import { ApplicationPlan, PolicyPlan } from '../plan/types';
import { lean } from './lean';
import { addressOf, interpolated, referenceTo } from './references';
import { BuildContext, BuiltApplication } from './context';
import { validateAdmissionOnSynth } from './admission';

/** rules in the binding's shape; an empty list is left out. */
function providerRules(rules: readonly AccessRule[]) {
  return rules.length > 0 ? rules.map((r) => r.toProvider()) : undefined;
}

/** an allow policy from checked rules, checked again at synth (overrides included). */
function definePolicy(scope: Construct, accountId: string, policy: PolicyPlan): ZeroTrustAccessPolicy {
  const defined = lean(new ZeroTrustAccessPolicy(scope, policy.id, literal({
    accountId,
    name: policy.name,
    decision: 'allow',
    include: providerRules(policy.include),
    require: providerRules(policy.require),
    exclude: providerRules(policy.exclude),
  })));
  validateAccessRulesOnSynth(defined);
  return defined;
}

/** the construct's own reusable policy, which its self-hosted applications use. */
export function buildSharedPolicy(ctx: BuildContext): void {
  const policy = ctx.plan.policy;
  if (policy === undefined) return;
  ctx.policy = definePolicy(ctx.scope(policy.path), ctx.plan.accountId, policy);
  ctx.policyId = ctx.policy.id;
}

/**
 * The organization whose team cloudflared checks Access tokens for, at the origin ("Protect with
 * Access" on every public hostname's ingress rule). The team name is the first label of its auth
 * domain, given (then checked against it) or read from it: either way a team name that is not
 * the account's fails the plan, where it would otherwise make cloudflared refuse everyone.
 */
export function buildOrigin(ctx: BuildContext): void {
  const origin = ctx.plan.origin;
  if (origin === undefined) return;
  const given = origin.teamName;
  const org = lean(new DataCloudflareZeroTrustOrganization(ctx.scope(origin.path), 'Organization', literal({
    accountId: ctx.plan.accountId,
    lifecycle: {
      postcondition: [given === undefined ? {
        condition: '${can(regex("^[a-z0-9-]+[.]cloudflareaccess[.]com$", self.auth_domain))}',
        errorMessage: 'The Zero Trust organization\'s auth domain (${self.auth_domain}) is not <team>.cloudflareaccess.com, so cloudflared cannot check Access tokens for it: pass accessTeamName (cdktf-access-droplet).',
      } : {
        condition: `\${self.auth_domain == "${given}.cloudflareaccess.com"}`,
        errorMessage: `accessTeamName "${given}" is not this account's team: the organization's auth domain is \${self.auth_domain}, so cloudflared would refuse everyone; pass its first label (cdktf-access-droplet).`,
      }],
    },
  })));
  ctx.organization = org;
  ctx.teamName = given !== undefined ? escapeTerraformTemplate(given) : `\${element(split(".", ${referenceTo(org, 'auth_domain')}), 0)}`;
}

/** every application of the plan: the shared ones, then the hosts' own, in order. */
export function buildApplications(ctx: BuildContext): void {
  const admissions: Parameters<typeof validateAdmissionOnSynth>[1] = [];
  for (const app of ctx.plan.sharedApplications) ctx.applications.set(app.key, defineApplication(ctx, app, admissions));
  const hosts = ctx.plan.hosts;
  for (let i = 0; i < hosts.length; i++) {
    const source = hosts[i].application;
    const built = 'own' in source ? defineApplication(ctx, source.own, admissions) : ctx.applications.get(source.shared) as BuiltApplication;
    ctx.hostApplications.push(built);
    ctx.hosts[i].accessApplication = built.application;
    ctx.hosts[i].shortLivedCertificate = built.certificate;
  }
  validateAdmissionOnSynth(ctx, admissions);
}

/** one application, in its scope: its own policies first, then the application and its CA. */
function defineApplication(ctx: BuildContext, app: ApplicationPlan, admissions: Parameters<typeof validateAdmissionOnSynth>[1]): BuiltApplication {
  const scope = ctx.scope(app.path);
  const accountId = ctx.plan.accountId;
  let built: BuiltApplication;
  if (app.kind === 'infrastructure') {
    const application = lean(new ZeroTrustAccessApplication(scope, 'AccessApp', literal({
      accountId,
      name: app.name,
      type: 'infrastructure',
      targetCriteria: [{ port: 22, protocol: 'SSH', targetAttributes: { hostname: [...app.hostnames] } }],
      policies: app.userPolicies.map((u, i) => ({
        name: u.name,
        decision: 'allow',
        precedence: i + 1,
        include: [AccessRule.email(u.email).toProvider()],
        require: providerRules(app.require),
        exclude: providerRules(app.exclude),
        connectionRules: { ssh: { usernames: [u.unixName], allowEmailAlias: false } },
      })),
      allowedIdps: app.allowedIdps,
      autoRedirectToIdentity: app.autoRedirectToIdentity,
      tags: app.tags,
    })));
    validateAccessRulesOnSynth(application);
    built = { application };
  } else {
    const policies: ZeroTrustAccessPolicy[] = [];
    const policyIds = app.policies.map((p) => {
      if ('existing' in p) return p.existing;
      if ('shared' in p) {
        policies.push(ctx.policy as ZeroTrustAccessPolicy);
        return ctx.policyId as string;
      }
      const own = definePolicy(scope, accountId, p.own);
      policies.push(own);
      return own.id;
    });
    if (app.admission !== undefined) admissions.push({ policies, ...app.admission });
    const application = lean(new ZeroTrustAccessApplication(scope, 'AccessApp', literal({
      accountId,
      name: app.name,
      // type ssh: Cloudflare renders an SSH terminal in the browser; the client path keeps working.
      type: app.browserSsh === true ? 'ssh' : 'self_hosted',
      domain: app.hostnames[0],
      destinations: app.hostnames.map((uri) => ({ type: 'public', uri })),
      policies: policyIds.map((id, i) => ({ id, precedence: i + 1 })),
      sessionDuration: app.sessionDuration,
      allowedIdps: app.allowedIdps,
      autoRedirectToIdentity: app.autoRedirectToIdentity,
      tags: app.tags,
    })));
    const certificate = lean(new ZeroTrustAccessShortLivedCertificate(scope, 'ShortLivedCertificate', {
      ...literal({ accountId }),
      appId: interpolated(application, 'id'),
    }));
    if (app.caVersion !== undefined) {
      // a new label replaces the CA: a terraform_data holding it, and replace_triggered_by.
      const rotation = new DataResource(scope, 'CaVersion', literal({ input: { version: app.caVersion } }));
      certificate.lifecycle = { ...certificate.lifecycle, replaceTriggeredBy: [addressOf(rotation)] };
    }
    built = { application, certificate, aud: ctx.plan.origin === undefined ? undefined : interpolated(application, 'aud') };
  }
  ctx.applicationList.push(built.application);
  return built;
}
