import { TerraformResource, Token } from 'cdktf';
import { AccessRule, accessRuleKinds, RuleKind } from './access-rule';
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

/** Who passes the Access policy: props shared by AccessDroplet and AccessDropletFleet. */
export interface AccessPolicyOptions {
  /**
   * Who else Access admits (extra emails, whole email domains). They get no Unix account.
   *
   * @default - exactly the users' emails
   */
  readonly allow?: AccessAllow;

  /**
   * More include rules (any one admits a person), after the users' emails and `allow`. A rule
   * that admits everyone needs `dangerouslyAllowEveryone`.
   *
   * @default - none
   * @example [AccessRule.group("00000000-0000-0000-0000-000000000000")]
   */
  readonly accessInclude?: AccessRule[];

  /**
   * Rules every admitted person must ALSO match, e.g. a group and an email domain, or the
   * corporate identity provider.
   *
   * @default - none
   * @example [AccessRule.loginMethod("idp-id"), AccessRule.emailDomain("example.com")]
   */
  readonly accessRequire?: AccessRule[];

  /**
   * Rules that shut a person out even when an include rule admits them.
   *
   * @default - none
   */
  readonly accessExclude?: AccessRule[];

  /**
   * Lets an include rule admit everyone (`AccessRule.everyone()`): anyone who can sign in to any
   * identity provider of the account, or receive a one-time PIN, then reaches sshd, and anyone
   * whose email's local part equals a user's opens that user's account.
   *
   * @default false
   */
  readonly dangerouslyAllowEveryone?: boolean;

  /**
   * Accepts Access rules that let someone log in as a user they are not (self-hosted mode).
   *
   * Access signs the short-lived certificate for the email's local part, so anyone Access admits
   * whose local part equals a user's opens that user's account. By default every include rule
   * must pin people by email: exact emails with distinct local parts, and email domains only
   * when every user is at that domain. Rules that admit people by anything else (groups, IdP
   * groups, GitHub organizations, IP ranges, countries, certificates, service tokens, login
   * methods, device posture), `allow.emailDomains` that other users are not at, two admitted
   * emails with one local part, and `accessPolicyIds` (policies the construct cannot read) are
   * refused; this flag accepts them, with a warning. Infrastructure mode has no such risk: each
   * of its policies names the one Unix user a person may log in as.
   *
   * @default false
   */
  readonly dangerouslyAllowImpersonation?: boolean;
}

/** every key of AccessPolicyOptions: the constructs refuse keys they do not know. */
export const ACCESS_POLICY_OPTION_KEYS: Record<keyof AccessPolicyOptions, true> = {
  allow: true, accessInclude: true, accessRequire: true, accessExclude: true, dangerouslyAllowEveryone: true, dangerouslyAllowImpersonation: true,
};

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
export function resolvePolicyRules(userEmails: string[], props: AccessPolicyOptions): ResolvedPolicyRules {
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
        `accessInclude[${i}] (${rule.describe()}) admits anyone who can sign in${rule.kind === 'everyone' ? '' : ', from any address'}; ` +
        'set dangerouslyAllowEveryone: true if that is really what you want',
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

  const require = rulesOf('accessRequire', props.accessRequire);
  const exclude = rulesOf('accessExclude', props.accessExclude);
  exclude.forEach((rule, i) => {
    if (rule.admitsEveryone) {
      throw new Error(`accessExclude[${i}] (${rule.describe()}) shuts everybody out, the listed users too; remove it`);
    }
    const email = rule.kind === 'email' ? String(rule.toProvider().email.email).toLowerCase() : undefined;
    if (email !== undefined && accounts.has(email)) {
      warnings.push(`accessExclude[${i}] excludes ${email}, who is one of the users; they keep a Unix account but cannot pass Access`);
    }
  });
  return { include, require, exclude, warnings };
}

const RULE_LISTS = new Set(['include', 'require', 'exclude']);

/**
 * The empty or unknown rules in a synthesized resource body (Terraform's snake_case JSON, e.g.
 * `resource.toTerraform()`): every `include`/`require`/`exclude` list at any depth, so an
 * application's inline policies count too. An empty rule object is what the binding leaves of a
 * rule it does not know; in `require` or `exclude` it would silently drop a condition.
 */
export function emptyRuleProblems(body: unknown, path = ''): string[] {
  return ruleProblemsIn(body, path, rulesByTerraformKind());
}

// the rule kinds by their Terraform name, built once: the check walks every object of every
// Access resource at synth (each host's application in a fleet), and rebuilding this map at each
// level of that walk was most of its cost.
let kindsByTerraformName: ReadonlyMap<string, RuleKind> | undefined;
function rulesByTerraformKind(): ReadonlyMap<string, RuleKind> {
  kindsByTerraformName ??= new Map([...accessRuleKinds().values()].map((k) => [k.terraformKind, k]));
  return kindsByTerraformName;
}

function ruleProblemsIn(body: unknown, path: string, kinds: ReadonlyMap<string, RuleKind>): string[] {
  if (Array.isArray(body)) return body.flatMap((v, i) => ruleProblemsIn(v, `${path}[${i}]`, kinds));
  if (body === null || typeof body !== 'object') return [];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const here = path ? `${path}.${key}` : key;
    if (!RULE_LISTS.has(key) || !Array.isArray(value)) {
      problems.push(...ruleProblemsIn(value, here, kinds));
      continue;
    }
    value.forEach((rule, i) => {
      // a whole list or rule given as a token cannot be inspected here.
      if (rule === null || typeof rule !== 'object') return;
      const present = Object.entries(rule as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== null);
      if (present.length === 0) {
        problems.push(`${here}[${i}] is an empty rule {}: the provider binding dropped whatever it was; build it with AccessRule and check its kind`);
        return;
      }
      for (const [kindName, inner] of present) {
        const kind = kinds.get(kindName);
        if (kind === undefined) {
          problems.push(`${here}[${i}] has rule kind "${kindName}", which the provider does not know`);
        } else if (kind.fields.size > 0 && inner !== null && typeof inner === 'object' &&
          Object.values(inner as Record<string, unknown>).every((v) => v === undefined || v === null)) {
          problems.push(`${here}[${i}].${kindName} is empty: the rule lost its fields (${[...kind.fields.values()].join(', ')})`);
        }
      }
    });
  }
  return problems;
}

/**
 * Checks, when the stack is synthesized, that the resource's final JSON (overrides included)
 * has no empty or unknown Access rule.
 */
export function validateAccessRulesOnSynth(resource: TerraformResource): void {
  resource.node.addValidation({
    validate: () => emptyRuleProblems(resource.toTerraform()).map((p) => `Access policy rules: ${p}`),
  });
}
