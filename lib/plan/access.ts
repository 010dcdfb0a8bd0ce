// Planning Cloudflare Access (the manual procedure's "Create an Access policy" and "Generate a
// certificate public key"): who passes, and the applications that protect the hosts.
import { Token } from 'cdktf';
import { AccessRule } from '../access-rule';
import { ResolvedPolicyRules } from '../access-policy-rules';
import { validateId } from '../validation';
import { AccountHolder } from './admission';
import { ApplicationPlan, PolicyPlan, PolicySource, ScopePath } from './types';

/** the application options AccessDroplet takes besides the fleet's. */
export interface ApplicationOptionProps {
  readonly accessAllowedIdps?: string[];
  readonly accessAutoRedirectToIdentity?: boolean;
  readonly accessSessionDuration?: string;
  readonly accessTags?: string[];
  readonly accessAppName?: string;
}

/** the checked application options of an AccessDroplet. */
export interface ApplicationOptionPlan {
  readonly name?: string;
  readonly allowedIdps?: string[];
  readonly autoRedirectToIdentity?: boolean;
  readonly tags?: string[];
}

/** checks the application options; `infrastructure` refuses what that mode does not support. */
export function checkApplicationOptions(props: ApplicationOptionProps, infrastructure: boolean): ApplicationOptionPlan {
  const idps = props.accessAllowedIdps;
  idps?.forEach((idp, i) => validateId(`accessAllowedIdps[${i}]`, idp));
  if (props.accessAutoRedirectToIdentity === true && (idps === undefined || idps.length !== 1)) {
    throw new Error(
      `accessAutoRedirectToIdentity needs exactly one identity provider in accessAllowedIdps, got ${idps === undefined ? 'none' : idps.length}`,
    );
  }
  if (infrastructure && props.accessSessionDuration !== undefined) {
    throw new Error('accessSessionDuration is not supported for infrastructure applications; drop it in infrastructure mode');
  }
  checkSessionDuration(props.accessSessionDuration);
  const tags = props.accessTags;
  tags?.forEach((t, i) => {
    if (typeof t !== 'string' || t.trim() === '') throw new Error(`accessTags[${i}] ${JSON.stringify(t)} must be a tag name`);
  });
  if (props.accessAppName !== undefined && (typeof props.accessAppName !== 'string' || props.accessAppName.trim() === '')) {
    throw new Error(`accessAppName ${JSON.stringify(props.accessAppName)} must be a non-empty name`);
  }
  return {
    name: props.accessAppName,
    allowedIdps: idps,
    autoRedirectToIdentity: props.accessAutoRedirectToIdentity,
    tags: tags && tags.length > 0 ? tags : undefined,
  };
}

/** refuses a session duration Cloudflare would not parse. */
export function checkSessionDuration(duration: string | undefined): void {
  if (duration !== undefined && !Token.isUnresolved(duration) && !/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(duration)) {
    throw new Error(`accessSessionDuration ${JSON.stringify(duration)} is not a duration such as "24h" or "2h45m"`);
  }
}

/**
 * The origin protection of a self-hosted construct: the team name, checked, and what a reviewer
 * should know about the browser terminal. Pushes warnings.
 */
export function planOrigin(
  props: { accessTeamName?: string; browserSsh?: boolean; accessPolicyIds?: string[] },
  users: readonly { email: string; principal: string; unixName: string }[], warnings: string[],
): { path: ScopePath; teamName?: string } {
  const team = props.accessTeamName;
  if (team !== undefined && !Token.isUnresolved(team) && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(team)) {
    throw new Error(
      `accessTeamName ${JSON.stringify(team)} is not a team name: the first label of the auth domain, e.g. "widgetcorp" for widgetcorp.cloudflareaccess.com (Zero Trust > Settings > Custom pages)`,
    );
  }
  if (props.browserSsh !== undefined && typeof props.browserSsh !== 'boolean') {
    throw new Error(`browserSsh ${JSON.stringify(props.browserSsh)} must be true or false`);
  }
  if (props.browserSsh === true) {
    // the browser terminal logs in as the email's local part; an account with another name is
    // reachable from the cloudflared client only.
    const elsewhere = users.filter((u) => u.unixName !== u.principal);
    if (elsewhere.length > 0) {
      warnings.push(
        `browserSsh: the browser terminal logs in as the email's local part, so ${elsewhere.slice(0, 5).map((u) => `${u.email} (account ${u.unixName})`).join(', ')}` +
        `${elsewhere.length > 5 ? ` and ${elsewhere.length - 5} more` : ''} can log in with the cloudflared client only`,
      );
    }
    if (props.accessPolicyIds !== undefined) {
      warnings.push('browserSsh with accessPolicyIds: a browser-rendered application takes only Allow and Block policies; Cloudflare refuses the apply if one of them bypasses or uses service auth');
    }
  }
  return { path: ['Access'], teamName: team };
}

/** refuses a CA version label that cannot be a terraform_data input. */
export function checkCaVersion(version: string | undefined): void {
  if (version === undefined) return;
  if (typeof version !== 'string' || (!Token.isUnresolved(version) && !/^[A-Za-z0-9._-]{1,64}$/.test(version))) {
    throw new Error(`accessCaVersion ${JSON.stringify(version)} must be 1-64 letters, digits, ".", "-" or "_", e.g. "2"`);
  }
}

/** the existing policy ids, checked, with nothing that would contradict them. */
export function checkPolicyIds(props: {
  accessPolicyIds?: string[]; allow?: unknown; accessInclude?: unknown; accessRequire?: unknown; accessExclude?: unknown; dangerouslyAllowEveryone?: unknown;
}): string[] {
  const ids = props.accessPolicyIds ?? [];
  if (ids.length === 0) {
    throw new Error('accessPolicyIds is empty; omit it to define a policy for the users, or pass existing policy ids');
  }
  ids.forEach((id, i) => validateId(`accessPolicyIds[${i}]`, id));
  for (const field of ['allow', 'accessInclude', 'accessRequire', 'accessExclude', 'dangerouslyAllowEveryone'] as const) {
    if (props[field] !== undefined) {
      throw new Error(`${field} cannot be combined with accessPolicyIds: the existing policies decide who passes Access; drop one of them`);
    }
  }
  return ids;
}

/** a reusable allow policy from checked rules. */
export function policyPlan(path: ScopePath, id: string, name: string, rules: { include: readonly AccessRule[]; require: readonly AccessRule[]; exclude: readonly AccessRule[] }): PolicyPlan {
  return { path, id, name, include: rules.include, require: rules.require, exclude: rules.exclude };
}

/** a self-hosted application (with its short-lived certificate CA) over these hostnames. */
export function selfHostedApplication(opts: {
  key: string; path: ScopePath; name: string; hostnames: readonly string[]; policies: readonly PolicySource[];
  sessionDuration?: string; caVersion?: string; options?: ApplicationOptionPlan;
  admission?: { where: string; accounts: readonly AccountHolder[] }; browserSsh?: boolean;
}): ApplicationPlan {
  return {
    key: opts.key,
    path: opts.path,
    kind: 'self_hosted',
    browserSsh: opts.browserSsh === true ? true : undefined,
    name: opts.name,
    hostnames: opts.hostnames,
    allowedIdps: opts.options?.allowedIdps,
    autoRedirectToIdentity: opts.options?.autoRedirectToIdentity,
    tags: opts.options?.tags,
    policies: opts.policies,
    sessionDuration: opts.sessionDuration,
    caVersion: opts.caVersion,
    admission: opts.admission,
    userPolicies: [],
    require: [],
    exclude: [],
  };
}

/**
 * An Access for Infrastructure application over the targets with these hostnames, with one
 * policy per person that allows only that person's own Unix name: a shared list of usernames
 * would let anyone admitted ask for a certificate for anyone else's account.
 */
export function infrastructureApplication(opts: {
  key: string; path: ScopePath; name: string; hostnames: readonly string[]; policyName: string;
  users: readonly { email: string; unixName: string }[]; rules: ResolvedPolicyRules; options?: ApplicationOptionPlan;
}): ApplicationPlan {
  return {
    key: opts.key,
    path: opts.path,
    kind: 'infrastructure',
    name: opts.name,
    hostnames: opts.hostnames,
    allowedIdps: opts.options?.allowedIdps,
    autoRedirectToIdentity: opts.options?.autoRedirectToIdentity,
    tags: opts.options?.tags,
    policies: [],
    userPolicies: opts.users.map((u) => ({ name: `${opts.policyName} ${u.unixName}`, email: u.email, unixName: u.unixName })),
    require: opts.rules.require,
    exclude: opts.rules.exclude,
  };
}
