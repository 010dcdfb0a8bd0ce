import { Token } from 'cdktf';
import { validateEmail } from './users';

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const ID = /^[A-Za-z0-9-]{1,64}$/;

/** Providers where anyone can get an address: a domain rule for them admits the whole internet. */
export const PUBLIC_EMAIL_DOMAINS: ReadonlySet<string> = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'yahoo.com',
  'icloud.com', 'me.com', 'mac.com', 'proton.me', 'protonmail.com', 'pm.me', 'aol.com', 'gmx.com',
  'gmx.de', 'gmx.net', 'mail.com', 'yandex.com', 'yandex.ru', 'qq.com', '163.com', 'zoho.com',
  'fastmail.com', 'tutanota.com', 'hey.com',
]);

/**
 * One rule of a Cloudflare Access policy (an entry of its `include`, `require` or `exclude`).
 *
 * Build rules with the static helpers; `AccessRule.raw` takes any rule the provider knows, in
 * the binding's shape, for the kinds without a helper.
 *
 * @see https://developers.cloudflare.com/cloudflare-one/policies/access/#selectors
 */
export class AccessRule {
  /** Matches one email address. */
  public static email(email: string): AccessRule {
    if (!Token.isUnresolved(email)) validateEmail('AccessRule.email', email);
    return new AccessRule('email', { email: { email } }, false, true);
  }

  /** Matches every email address at a domain you own, e.g. `example.com`. */
  public static emailDomain(domain: string): AccessRule {
    const d = typeof domain === 'string' ? domain.replace(/^@/, '') : domain;
    if (!Token.isUnresolved(d)) {
      if (typeof d !== 'string' || !DOMAIN.test(d)) {
        throw new Error(
          `AccessRule.emailDomain ${JSON.stringify(domain)} is not an email domain; pass a lower-case domain you own, e.g. "example.com" (a wildcard or bare TLD would admit everyone)`,
        );
      }
      if (PUBLIC_EMAIL_DOMAINS.has(d)) {
        throw new Error(
          `AccessRule.emailDomain "${d}" is a public email provider, so the rule would admit anyone who signs up there; list those people by email instead`,
        );
      }
    }
    return new AccessRule('emailDomain', { emailDomain: { domain: d } }, false, false);
  }

  /** Matches the members of a Cloudflare Access group (by the group's id). */
  public static group(groupId: string): AccessRule {
    AccessRule.checkId('AccessRule.group', groupId);
    return new AccessRule('group', { group: { id: groupId } }, false, false);
  }

  /**
   * Matches people who signed in with one identity provider (by the provider's id), e.g. to
   * require the corporate IdP rather than the one-time PIN.
   */
  public static loginMethod(identityProviderId: string): AccessRule {
    AccessRule.checkId('AccessRule.loginMethod', identityProviderId);
    return new AccessRule('loginMethod', { loginMethod: { id: identityProviderId } }, false, false);
  }

  /**
   * Matches everyone. In `include` it admits anyone who can sign in to any identity provider
   * (or receive a one-time PIN): the construct refuses it unless `dangerouslyAllowEveryone` is set.
   */
  public static everyone(): AccessRule {
    return new AccessRule('everyone', { everyone: {} }, true, false);
  }

  /**
   * Any rule in the binding's shape (one key), e.g.
   * `{ githubOrganization: { identityProviderId: "...", name: "widgetcorp" } }`.
   *
   * @see https://registry.terraform.io/providers/cloudflare/cloudflare/5.14.0/docs/resources/zero_trust_access_policy#include
   */
  public static raw(rule: { [kind: string]: any }): AccessRule {
    const keys = rule !== null && typeof rule === 'object' ? Object.keys(rule) : [];
    if (keys.length !== 1) {
      throw new Error(`AccessRule.raw ${JSON.stringify(rule)} must have exactly one key, the rule kind (e.g. "githubOrganization")`);
    }
    return new AccessRule(keys[0], { ...rule }, keys[0] === 'everyone', false);
  }

  private static checkId(field: string, id: string) {
    if (!Token.isUnresolved(id) && (typeof id !== 'string' || !ID.test(id))) {
      throw new Error(`${field} ${JSON.stringify(id)} is not a Cloudflare id; copy it from Zero Trust › Settings`);
    }
  }

  /**
   * @param kind the rule kind, the provider's key (e.g. `emailDomain`)
   * @param rule the rule in the binding's shape
   * @param admitsEveryone whether the rule matches everyone
   * @param namesOnePerson whether the rule matches exactly one identity
   */
  private constructor(
    public readonly kind: string,
    private readonly rule: { [kind: string]: any },
    public readonly admitsEveryone: boolean,
    public readonly namesOnePerson: boolean,
  ) {}

  /** The rule in the binding's shape, for `include`, `require` or `exclude`. */
  public toProvider(): { [kind: string]: any } {
    return this.rule;
  }

  /** A short description for messages, e.g. `emailDomain example.com`. */
  public describe(): string {
    const inner = this.rule[this.kind];
    const value = inner && typeof inner === 'object' ? Object.values(inner).filter((v) => typeof v === 'string').join(' ') : '';
    return value ? `${this.kind} ${value}` : this.kind;
  }
}
