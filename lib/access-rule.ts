import { Token, Tokenization } from 'cdktf';
import { zeroTrustAccessPolicyIncludeToTerraform } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { validateEmail } from './users';

/** One rule kind of the provider binding: its spellings and the fields of its inner object. */
export interface RuleKind {
  /** the binding's (camelCase) key, e.g. `loginMethod`. */
  readonly kind: string;
  /** the Terraform (snake_case) key, e.g. `login_method`. */
  readonly terraformKind: string;
  /** the inner object's fields, camelCase (binding) → snake_case (Terraform); none for flags like `everyone`. */
  readonly fields: ReadonlyMap<string, string>;
}

const META_KEYS = new Set(['resolve', 'withinArray', 'toJSON', 'then']);
let ruleKindCache: Map<string, RuleKind> | undefined;

/**
 * The rule kinds of an Access policy's include/require/exclude, read from the installed binding
 * itself (the keys its `zeroTrustAccessPolicyIncludeToTerraform` mapper emits, and the fields
 * each kind's mapper reads), so the list cannot drift from what the binding synthesizes: a key
 * the binding does not know is dropped from the JSON without a word.
 */
export function accessRuleKinds(): ReadonlyMap<string, RuleKind> {
  if (ruleKindCache === undefined) {
    const kinds = new Map<string, RuleKind>();
    const camel = (snake: string) => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    for (const terraformKind of Object.keys(zeroTrustAccessPolicyIncludeToTerraform({}))) {
      const kind = camel(terraformKind);
      // a stand-in inner object that records which fields the kind's mapper reads.
      const read = new Set<string>();
      const probe = new Proxy({}, {
        get: (_t, name) => {
          if (typeof name === 'string' && !META_KEYS.has(name)) read.add(name);
          return undefined;
        },
        has: () => false,
      });
      zeroTrustAccessPolicyIncludeToTerraform({ [kind]: probe } as any);
      const fields = new Map<string, string>();
      for (const field of read) {
        const out = (zeroTrustAccessPolicyIncludeToTerraform({ [kind]: { [field]: 'x' } } as any) as any)[terraformKind] ?? {};
        const emitted = Object.keys(out).find((k) => out[k] === 'x');
        if (emitted !== undefined) fields.set(field, emitted);
      }
      kinds.set(kind, { kind, terraformKind, fields });
    }
    ruleKindCache = kinds;
  }
  return ruleKindCache;
}

/** Whether a CIDR (or bare address) covers every address of its family, e.g. `0.0.0.0/0`, `::/0`. */
function coversAllAddresses(value: unknown): boolean {
  return typeof value === 'string' && /\/0*0$/.test(value.trim()) && !Token.isUnresolved(value);
}

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
   * Any rule in the binding's shape (one key, camelCase as in the binding), e.g.
   * `{ githubOrganization: { identityProviderId: "...", name: "widgetcorp" } }`.
   *
   * Only the kinds the installed provider binding defines are accepted, each with the fields it
   * knows (the binding drops anything else from the JSON without a word, so a rule would
   * vanish). Everyone-like rules (`everyone`, an `ip` range covering all addresses such as
   * `0.0.0.0/0` or `::/0`) count as `AccessRule.everyone()`: in include they need
   * `dangerouslyAllowEveryone`.
   *
   * @see https://registry.terraform.io/providers/cloudflare/cloudflare/5.14.0/docs/resources/zero_trust_access_policy#include
   */
  public static raw(rule: { [kind: string]: any }): AccessRule {
    const keys = rule !== null && typeof rule === 'object' ? Object.keys(rule) : [];
    if (keys.length !== 1) {
      throw new Error(`AccessRule.raw ${JSON.stringify(rule)} must have exactly one key, the rule kind (e.g. "githubOrganization")`);
    }
    const key = keys[0];
    const kinds = accessRuleKinds();
    const kind = kinds.get(key);
    if (kind === undefined) {
      const bySpelling = [...kinds.values()].find((k) => k.terraformKind === key || k.kind.toLowerCase() === key.replace(/[_-]/g, '').toLowerCase());
      const hint = bySpelling !== undefined
        ? `; write it "${bySpelling.kind}" (the binding's camelCase spelling)`
        : `; use one of ${[...kinds.keys()].join(', ')}`;
      throw new Error(`AccessRule.raw kind ${JSON.stringify(key)} is not a rule kind the provider binding knows (it would synthesize to an empty rule)${hint}`);
    }
    const inner = rule[key];
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner) || Tokenization.isResolvable(inner)) {
      throw new Error(`AccessRule.raw ${key} must be an object such as ${example(kind)}, got ${JSON.stringify(inner)}`);
    }
    for (const field of Object.keys(inner)) {
      if (!kind.fields.has(field)) {
        const camelField = [...kind.fields.entries()].find(([, snake]) => snake === field)?.[0];
        const known = kind.fields.size > 0 ? `its fields are ${[...kind.fields.keys()].join(', ')}` : 'it takes no fields: pass {}';
        throw new Error(
          `AccessRule.raw ${key} has field ${JSON.stringify(field)}, which the binding would drop` +
          (camelField !== undefined ? `; write it "${camelField}"` : `; ${known}`),
        );
      }
    }
    const given = Object.keys(inner).filter((f) => inner[f] !== undefined && inner[f] !== null && inner[f] !== '');
    if (kind.fields.size > 0 && given.length === 0) {
      throw new Error(`AccessRule.raw ${key} is empty, so the rule would match nothing it was meant to; pass e.g. ${example(kind)}`);
    }
    const everyoneLike = key === 'everyone' || (key === 'ip' && coversAllAddresses(inner.ip));
    return new AccessRule(key, { [key]: { ...inner } }, everyoneLike, false);
  }

  /**
   * Matches requests from an IP range (CIDR), e.g. an office network. A range that covers every
   * address (`0.0.0.0/0`, `::/0`) admits everyone, like {@link AccessRule.everyone}.
   */
  public static ip(cidr: string): AccessRule {
    return AccessRule.raw({ ip: { ip: cidr } });
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

function example(kind: RuleKind): string {
  return `{ ${kind.kind}: { ${[...kind.fields.keys()].map((f) => `${f}: "..."`).join(', ')} } }`.replace('{  }', '{}');
}
