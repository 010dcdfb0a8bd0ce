// One principal, one person (self-hosted mode). Access signs a short-lived certificate for the
// email's local part, so EVERYONE Access admits to an application can log in, on the hosts behind
// it, as the account whose principal equals their own local part.
//
// INVARIANT: for every principal that opens an account on a host, exactly one identity Access
// may admit to that host carries it.
//
// It is enforced here, once, over the final include rules of each application (the users, `allow`,
// `accessInclude`, a fleet's common and per-host users, an access group's hosts), by an allowlist
// of rules that pin identities:
// - an exact email: allowed unless another admitted email has the same local part (any case);
// - an email domain: allowed only when every person with an account there is at that domain
//   (then whoever else at the domain shares a local part is that very mailbox's owner's domain);
// - every other rule (groups, IdP groups, GitHub, everyone, IP ranges, geo, certificates, service
//   tokens, login methods, device posture, lists, ...) and existing policies the construct cannot
//   read: refused, unless the user sets `dangerouslyAllowImpersonation` (everyone-like rules:
//   `dangerouslyAllowEveryone`, which accepts the same risk and more).
// build/admission.ts checks the same over the synthesized JSON, so an override cannot add an
// include rule that breaks it.

/** one include rule, as far as admission cares, and where it came from (for messages). */
export interface AdmittedRule {
  /** the rule kind, binding spelling (`email`, `emailDomain`, `group`, ...). */
  readonly kind: string;
  /** the email (kind `email`) or domain (kind `emailDomain`), else a description. */
  readonly value: string;
  /** the prop it came from, e.g. `allow.emails[0]`. */
  readonly source: string;
  /** whether it matches everyone (`everyone`, an IP range over every address). */
  readonly admitsEveryone?: boolean;
}

/** a person with an account on the hosts, and the principal their certificates carry. */
export interface AccountHolder {
  readonly email: string;
  readonly principal: string;
}

/** what one application admits, and who has accounts behind it. */
export interface Admission {
  /** how messages name the application, e.g. `droplet.widgetcorp.tech`. */
  readonly where: string;
  readonly accounts: readonly AccountHolder[];
  readonly rules: readonly AdmittedRule[];
  /** existing reusable policies (ids) the construct cannot read. */
  readonly existingPolicies: readonly string[];
}

/** the opt-ins that accept the risk. */
export interface AdmissionOptIns {
  readonly dangerouslyAllowImpersonation?: boolean;
  readonly dangerouslyAllowEveryone?: boolean;
}

const WAY_OUT = 'otherwise use infrastructure mode (mode: AccessMode.INFRASTRUCTURE), where each policy names the one Unix user a person may log in as; or set dangerouslyAllowImpersonation: true to accept the risk';

const localPartOf = (email: string) => email.slice(0, email.lastIndexOf('@'));
const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * Throws when the admission breaks the invariant (see the top of this file) and no opt-in accepts
 * it; returns the warnings for what an opt-in accepted.
 */
export function checkAdmission(admission: Admission, optIns: AdmissionOptIns): string[] {
  const warnings: string[] = [];
  const impersonation = optIns.dangerouslyAllowImpersonation === true;
  // the same message names the application when it refuses; a warning is the same for every
  // application of a fleet that shares the rule, so it leaves the application out.
  const accepted = (detail: string) => {
    if (!impersonation) throw new Error(`${admission.where}: ${detail}; ${WAY_OUT}`);
    warnings.push(`DANGER (dangerouslyAllowImpersonation): ${detail}`);
  };
  const example = admission.accounts[0];
  const victim = example === undefined ? 'a user\'s' : `${example.email}'s`;
  const principal = example === undefined ? 'theirs' : `"${example.principal}"`;

  if (admission.existingPolicies.length > 0) {
    accepted(
      'accessPolicyIds attaches policies the construct cannot read, so it cannot prove that nobody they admit has a user\'s local part ' +
      `(anyone admitted whose local part is ${principal} would open ${victim} account)`,
    );
  }
  const byLocalPart = new Map<string, AdmittedRule>();
  for (const rule of admission.rules) {
    if (rule.kind === 'email') {
      const local = localPartOf(rule.value).toLowerCase();
      const other = byLocalPart.get(local);
      if (other === undefined) {
        byLocalPart.set(local, rule);
      } else if (other.value.toLowerCase() !== rule.value.toLowerCase()) {
        accepted(
          `${rule.source} ${rule.value} and ${other.source} ${other.value} would both get certificates for principal "${local}" ` +
          '(Access signs the email\'s local part), so either could open the other\'s account; admit each local part once per host',
        );
      }
      continue;
    }
    if (rule.kind === 'emailDomain') {
      const domain = rule.value.toLowerCase();
      const outsider = admission.accounts.find((a) => domainOf(a.email) !== domain);
      if (outsider !== undefined) {
        accepted(
          `${rule.source} admits anyone at ${domain}, so ${localPartOf(outsider.email)}@${domain} would get certificates for principal ` +
          `"${outsider.principal}" and open ${outsider.email}'s account; admit a domain only when every user is at it, or list people by email`,
        );
      }
      continue;
    }
    if (rule.admitsEveryone === true && optIns.dangerouslyAllowEveryone === true) {
      warnings.push(`DANGER (dangerouslyAllowEveryone): ${rule.source} (${rule.value}) admits everyone, and anyone whose local part is ${principal} opens ${victim} account`);
      continue;
    }
    accepted(
      `${rule.source} (${rule.value}) admits people by something other than their email, so the construct cannot prove that none of them ` +
      `has a user's local part (anyone it admits whose local part is ${principal} would open ${victim} account); list people by email`,
    );
  }
  return warnings;
}

/**
 * The include rules a policy built from these props admits, each with the prop it came from:
 * the users' emails (`label[i]`), `allow.emails`, `allow.emailDomains`, `accessInclude`.
 */
export function admittedRules(
  users: readonly { email: string }[], label: string,
  props: { allow?: { emails?: string[]; emailDomains?: string[] }; accessInclude?: readonly AccessRuleLike[] },
): AdmittedRule[] {
  const rules: AdmittedRule[] = users.map((u, i) => ({ kind: 'email', value: u.email, source: `${label}[${i}]` }));
  (props.allow?.emails ?? []).forEach((e, i) => rules.push({ kind: 'email', value: e, source: `allow.emails[${i}]` }));
  (props.allow?.emailDomains ?? []).forEach((d, i) => rules.push({ kind: 'emailDomain', value: d.replace(/^@/, ''), source: `allow.emailDomains[${i}]` }));
  (props.accessInclude ?? []).forEach((r, i) => rules.push(admittedRule(r, `accessInclude[${i}]`)));
  return rules;
}

/** what {@link admittedRules} reads of an AccessRule. */
export interface AccessRuleLike {
  readonly kind: string;
  readonly admitsEveryone: boolean;
  toProvider(): { [kind: string]: any };
  describe(): string;
}

/** one AccessRule as an admitted rule. */
export function admittedRule(rule: AccessRuleLike, source: string): AdmittedRule {
  const inner = rule.toProvider()[rule.kind] ?? {};
  const value = rule.kind === 'email' ? String(inner.email) : rule.kind === 'emailDomain' ? String(inner.domain) : rule.describe();
  return { kind: rule.kind, value, source, admitsEveryone: rule.admitsEveryone };
}
