import { Token } from 'cdktf';
import { AccessRule } from './access-rule';
import { validateEmail } from './users';

/**
 * Who else Cloudflare Access admits, besides the listed users (the policy's include rules).
 */
export interface AccessAllow {
  /**
   * Extra emails Access admits. They get no Unix account on the droplet, so they can reach sshd
   * but cannot log in until an account exists for them.
   *
   * @default - none
   */
  readonly emails?: string[];

  /**
   * Whole email domains Access admits, e.g. `cloudflare.com`. Only the listed users have Unix
   * accounts; everyone else at the domain reaches sshd and is refused there.
   *
   * @default - none
   */
  readonly emailDomains?: string[];
}

/** The Access policy props shared by AccessDroplet and AccessDropletFleet. */
export interface AccessPolicyRuleProps {
  /** @see AccessDropletProps.allow */
  readonly allow?: AccessAllow;
  /** @see AccessDropletProps.accessInclude */
  readonly accessInclude?: AccessRule[];
  /** @see AccessDropletProps.accessRequire */
  readonly accessRequire?: AccessRule[];
  /** @see AccessDropletProps.accessExclude */
  readonly accessExclude?: AccessRule[];
  /** @see AccessDropletProps.dangerouslyAllowEveryone */
  readonly dangerouslyAllowEveryone?: boolean;
}

/** The checked rules of one Access policy, and what a user should be warned about. */
export interface ResolvedPolicyRules {
  readonly include: AccessRule[];
  readonly require: AccessRule[];
  readonly exclude: AccessRule[];
  readonly warnings: string[];
}

function rulesOf(field: string, rules: AccessRule[] | undefined): AccessRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new Error(`${field} must be a list of AccessRule`);
  rules.forEach((r, i) => {
    if (!(r instanceof AccessRule)) {
      throw new Error(`${field}[${i}] ${JSON.stringify(r)} is not an AccessRule; build it with AccessRule.email(), .emailDomain(), .group(), .loginMethod() or .raw()`);
    }
  });
  return rules;
}

/**
 * Builds the policy from the users and the rule props: include = the users' emails, `allow`, then
 * `accessInclude`. Refuses what would admit everyone (unless `dangerouslyAllowEveryone`), an
 * `allow` that adds nothing, and an exclude that shuts everybody out.
 */
export function resolvePolicyRules(userEmails: string[], props: AccessPolicyRuleProps): ResolvedPolicyRules {
  const warnings: string[] = [];
  const include: AccessRule[] = [];
  const seen = new Set<string>();
  const addEmail = (field: string, e: string) => {
    if (Token.isUnresolved(e)) {
      include.push(AccessRule.email(e));
      return;
    }
    validateEmail(field, e);
    if (!seen.has(e.toLowerCase())) {
      seen.add(e.toLowerCase());
      include.push(AccessRule.email(e));
    }
  };
  userEmails.forEach((e, i) => addEmail(`users[${i}].email`, e));
  const accounts = new Set(seen);

  if (props.allow !== undefined) {
    const extraEmails = props.allow.emails ?? [];
    const domains = props.allow.emailDomains ?? [];
    if (extraEmails.length === 0 && domains.length === 0) {
      throw new Error('allow adds no rule (no emails, no emailDomains); omit allow to admit exactly the users');
    }
    const without = extraEmails.filter((e) => typeof e === 'string' && !accounts.has(e.toLowerCase()));
    extraEmails.forEach((e, i) => addEmail(`allow.emails[${i}]`, e));
    if (without.length > 0) {
      warnings.push(`allow.emails admits ${without.join(', ')} without a Unix account; add them to users to let them log in`);
    }
    const domainRules = domains.map((d, i) => {
      try {
        return AccessRule.emailDomain(d);
      } catch (e) {
        throw new Error((e as Error).message.replace(/^AccessRule\.emailDomain/, `allow.emailDomains[${i}]`));
      }
    });
    const uniqueDomains = domainRules.filter((r, i) => domainRules.findIndex((o) => o.describe() === r.describe()) === i);
    include.push(...uniqueDomains);
  }

  const extra = rulesOf('accessInclude', props.accessInclude);
  extra.forEach((rule, i) => {
    if (rule.admitsEveryone && props.dangerouslyAllowEveryone !== true) {
      throw new Error(
        `accessInclude[${i}] (${rule.describe()}) admits anyone who can sign in; set dangerouslyAllowEveryone: true if that is really what you want`,
      );
    }
  });
  include.push(...extra);
  const admitsEveryone = include.some((r) => r.admitsEveryone);
  if (admitsEveryone) {
    warnings.push('DANGER: dangerouslyAllowEveryone is set and the Access policy admits everyone; only sshd and the Unix accounts stand between the internet and this host');
  } else if (props.dangerouslyAllowEveryone === true) {
    warnings.push('dangerouslyAllowEveryone is set but no rule admits everyone; remove the flag');
  }
  const broad = include.filter((r) => !r.namesOnePerson && !r.admitsEveryone).map((r) => r.describe());
  if (broad.length > 0) {
    warnings.push(`Access admits everyone matching ${broad.join(', ')}, but only the ${accounts.size} listed users get a Unix account; the others pass Access and are refused by sshd`);
  }

  const require = rulesOf('accessRequire', props.accessRequire);
  const exclude = rulesOf('accessExclude', props.accessExclude);
  exclude.forEach((rule, i) => {
    if (rule.admitsEveryone) {
      throw new Error(`accessExclude[${i}] (everyone) shuts everybody out, the listed users too; remove it`);
    }
    const email = rule.kind === 'email' ? String(rule.toProvider().email.email).toLowerCase() : undefined;
    if (email !== undefined && accounts.has(email)) {
      warnings.push(`accessExclude[${i}] excludes ${email}, who is one of the users; they keep a Unix account but cannot pass Access`);
    }
  });
  return { include, require, exclude, warnings };
}
