import { TerraformResource, Token } from 'cdktf';
import { AccessRule, accessRuleKinds } from './access-rule';
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
   * identity provider of the account, or receive a one-time PIN, then reaches sshd.
   *
   * @default false
   */
  readonly dangerouslyAllowEveryone?: boolean;
}

/** The droplet settings shared by AccessDroplet and AccessDropletFleet. */
export interface DropletOptions {
  /**
   * The DigitalOcean region.
   *
   * @default "nyc3"
   * @see https://docs.digitalocean.com/platform/regional-availability/
   */
  readonly region?: string;

  /**
   * The droplet size slug.
   *
   * @default "s-1vcpu-1gb"
   * @see https://slugs.do-api.dev/
   */
  readonly size?: string;

  /**
   * The droplet image slug. The cloud-config expects Ubuntu or Debian (apt, systemd, OpenSSH).
   *
   * @default "ubuntu-24-04-x64"
   */
  readonly image?: string;

  /**
   * Extra DigitalOcean tags on the droplet (on every droplet of a fleet).
   *
   * @default - none (a fleet adds its own tag)
   */
  readonly tags?: string[];

  /**
   * Whether the droplet runs DigitalOcean's metrics agent.
   *
   * @default true
   */
  readonly monitoring?: boolean;

  /**
   * The VPC to place the droplet in.
   *
   * @default - the region's default VPC
   */
  readonly vpcUuid?: string;

  /**
   * The apt repository cloudflared is installed from (Cloudflare's, or a mirror of it).
   *
   * @default "https://pkg.cloudflare.com/cloudflared"
   */
  readonly cloudflaredAptUrl?: string;

  /**
   * The apt suite of `cloudflaredAptUrl`.
   *
   * @default "any"
   */
  readonly cloudflaredAptSuite?: string;

  /**
   * The apt component of `cloudflaredAptUrl`.
   *
   * @default "main"
   */
  readonly cloudflaredAptComponent?: string;

  /**
   * Where the droplet downloads the key that signs `cloudflaredAptUrl`. Cloudflare rotated this
   * key in November 2025; override it if Cloudflare moves it again or you mirror the repository.
   *
   * @default "https://pkg.cloudflare.com/cloudflare-main.gpg"
   */
  readonly cloudflaredAptKeyUrl?: string;

  /**
   * Whether login users (UID 1000 and up, every Access user) are kept from DigitalOcean's
   * metadata service, which serves the droplet's user_data, tunnel token included, to any local
   * process. Root and system services (DigitalOcean's agents) keep it.
   *
   * @default true
   */
  readonly restrictMetadataService?: boolean;

  /**
   * Whether Access users may forward TCP connections from the droplet (`ssh -L`, `-D`, `-W`),
   * e.g. to reach a database that listens only on the host. Each of them can then reach
   * whatever the droplet reaches: services on its loopback (cloudflared's metrics endpoint among
   * them), other droplets in its VPC, the internet; the construct warns about it. Agent, X11,
   * unix-socket, tunnel-device and remote (`ssh -R`) forwarding stay off either way.
   *
   * @default false
   */
  readonly allowPortForwarding?: boolean;

  /**
   * How long an Access login lasts before the user signs in to the identity provider again.
   *
   * @default - Cloudflare's default (24h)
   */
  readonly accessSessionDuration?: string;

  /**
   * Whether `cdktf deploy` waits until the tunnel reports healthy connections (so SSH through
   * Access can work when it returns). It runs a small Node.js poller from a `local-exec`
   * provisioner on a `null_resource`: configure the `null` provider in your stack, and export
   * `CLOUDFLARE_API_TOKEN` (the token needs Account › Cloudflare Tunnel › Read).
   *
   * @default false
   */
  readonly waitForReady?: boolean;

  /**
   * How long `waitForReady` waits for a healthy tunnel before it fails the deploy.
   *
   * @default 600
   */
  readonly waitForReadyTimeoutSec?: number;

  /**
   * The cloudflared command in the `sshConfig` output, for clients where it is not on PATH.
   *
   * @default "cloudflared"
   */
  readonly clientCloudflaredPath?: string;
  // day-2 operations (issue 11): droplet options, extra cloud-config, replacement control.

  /**
   * Whether DigitalOcean takes weekly backups of the droplet (they cost 20% of the droplet's price).
   *
   * @default false
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#backups
   */
  readonly backups?: boolean;

  /**
   * Whether the droplet gets a public IPv6 address (the firewall still has no inbound rule).
   *
   * @default false
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#ipv6
   */
  readonly ipv6?: boolean;

  /**
   * Block storage volumes (ids) to attach to the droplet. A volume attaches to one droplet only,
   * so a fleet with more than one host cannot share them. cloud-init does not format or mount
   * them: do that in `extraCloudConfig` (`fs_setup`, `mounts`).
   *
   * @default - none
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#volume_ids
   */
  readonly volumeIds?: string[];

  /**
   * The DigitalOcean project (id) the droplet is assigned to, with a
   * `digitalocean_project_resources` resource.
   *
   * @default - the account's default project
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/project_resources
   */
  readonly projectId?: string;

  /**
   * Whether DigitalOcean shuts the droplet down gracefully (ACPI) before it powers it off, e.g.
   * for a resize or a destroy.
   *
   * @default false
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#graceful_shutdown
   */
  readonly gracefulShutdown?: boolean;

  /**
   * Your own first-boot configuration, as a cloud-config object (e.g. `{ packages: ["htop"] }`).
   * It goes into `user_data` as a second MIME part after ours, merged by cloud-init with
   * `list(append)+dict(no_replace,recurse_list)`: your lists (`packages`, `write_files`,
   * `runcmd`) come after ours, and where both set the same key ours wins. Refused: keys that would
   * weaken access (`users`, `groups`, `ssh_pwauth`, `ssh_authorized_keys`, `chpasswd`,
   * `password`, `merge_how`, `merge_type`), `write_files` into `/etc/ssh/`, `/etc/sudoers*`,
   * `/etc/pam.d/`, `/etc/nftables.conf`, `/etc/iptables/` or our own files, and `runcmd`/`bootcmd`
   * steps that name sshd's configuration, sudoers, our services, flush nft/iptables rules or
   * reach the metadata address.
   * That check catches mistakes; it is no sandbox: your commands run as root.
   *
   * @default - none
   * @see https://cloudinit.readthedocs.io/en/latest/reference/merging.html
   */
  readonly extraCloudConfig?: { [key: string]: any };

  /**
   * Whether a change of `user_data` (users, CA key, tunnel token, apt source, `extraCloudConfig`)
   * replaces the droplet, as DigitalOcean requires. `false` keeps the droplet and its disk
   * (Terraform's `ignore_changes` on `user_data`): the Access policy still changes at once, but
   * accounts and principals on the host must then be changed by hand (README, "Change users
   * without a new droplet"). A new CA key or tunnel token still replaces the droplet, since the
   * old one could no longer be reached.
   *
   * @default true
   */
  readonly userDataCausesReplacement?: boolean;

  /**
   * A label for the short-lived certificate CA (self-hosted mode): change it (e.g. "1" to "2")
   * and the next deploy replaces the CA, and so every droplet that trusts it (its user_data holds
   * the key). Setting it the first time on a deployed stack replaces nothing; only a change does.
   *
   * @default - none (the CA is never replaced)
   */
  readonly accessCaVersion?: string;
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
  const broad = include.filter((r) => !r.namesOnePerson && !r.admitsEveryone).map((r) => r.describe());
  if (broad.length > 0) {
    warnings.push(
      `Access admits everyone matching ${broad.join(', ')}, but only the ${accounts.size} listed users get a Unix account; the others pass Access and are refused by sshd, ` +
      'except anyone whose email has the same local part as a listed user: short-lived certificates carry only the local part',
    );
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
  if (Array.isArray(body)) return body.flatMap((v, i) => emptyRuleProblems(v, `${path}[${i}]`));
  if (body === null || typeof body !== 'object') return [];
  const kinds = new Map([...accessRuleKinds().values()].map((k) => [k.terraformKind, k]));
  const problems: string[] = [];
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const here = path ? `${path}.${key}` : key;
    if (!RULE_LISTS.has(key) || !Array.isArray(value)) {
      problems.push(...emptyRuleProblems(value, here));
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
