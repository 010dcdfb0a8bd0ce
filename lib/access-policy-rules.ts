import { Token } from 'cdktf';
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

/** Providers where anyone can get an address: a domain rule for them admits the whole internet. */
const PUBLIC_EMAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'yahoo.com',
  'icloud.com', 'me.com', 'mac.com', 'proton.me', 'protonmail.com', 'pm.me', 'aol.com', 'gmx.com',
  'gmx.de', 'gmx.net', 'mail.com', 'yandex.com', 'yandex.ru', 'qq.com', '163.com', 'zoho.com',
  'fastmail.com', 'tutanota.com', 'hey.com',
]);

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

/** The include rules as plain values, checked; `userEmails` always come first. */
export interface IncludeRules {
  readonly emails: string[];
  readonly emailDomains: string[];
  /** emails admitted that have no Unix account (for a warning). */
  readonly emailsWithoutAccount: string[];
}

/**
 * Builds the include rules from the users and the optional `allow`, refusing rules that admit
 * everyone (a wildcard, a bare TLD, a public email provider) or an `allow` that adds nothing.
 */
export function resolveIncludeRules(userEmails: string[], allow: AccessAllow | undefined): IncludeRules {
  const emails: string[] = [];
  const seen = new Set<string>();
  const addEmail = (e: string) => {
    if (!seen.has(e.toLowerCase())) {
      seen.add(e.toLowerCase());
      emails.push(e);
    }
  };
  userEmails.forEach(addEmail);
  const emailsWithoutAccount: string[] = [];
  const emailDomains: string[] = [];
  if (allow !== undefined) {
    const extraEmails = allow.emails ?? [];
    const domains = allow.emailDomains ?? [];
    if (extraEmails.length === 0 && domains.length === 0) {
      throw new Error('allow adds no rule (no emails, no emailDomains); omit allow to admit exactly the users');
    }
    extraEmails.forEach((e, i) => {
      if (Token.isUnresolved(e)) {
        emails.push(e);
        return;
      }
      validateEmail(`allow.emails[${i}]`, e);
      if (!seen.has(e.toLowerCase())) emailsWithoutAccount.push(e);
      addEmail(e);
    });
    domains.forEach((d, i) => {
      if (Token.isUnresolved(d)) {
        emailDomains.push(d);
        return;
      }
      const domain = typeof d === 'string' ? d.replace(/^@/, '') : d;
      if (typeof domain !== 'string' || !DOMAIN.test(domain)) {
        throw new Error(
          `allow.emailDomains[${i}] ${JSON.stringify(d)} is not an email domain; pass a lower-case domain you own, e.g. "example.com" (a wildcard or bare TLD would admit everyone)`,
        );
      }
      if (PUBLIC_EMAIL_DOMAINS.has(domain)) {
        throw new Error(
          `allow.emailDomains[${i}] "${domain}" is a public email provider, so the rule would admit anyone who signs up there; list those people in users or allow.emails instead`,
        );
      }
      if (!emailDomains.includes(domain)) emailDomains.push(domain);
    });
  }
  return { emails, emailDomains, emailsWithoutAccount };
}
