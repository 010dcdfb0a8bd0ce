/**
 * A person who may log in over Cloudflare Access, and the Unix account made for them.
 */
export interface AccessUser {
  /**
   * The identity the person signs in to Cloudflare Access with.
   *
   * Access issues the short-lived certificate for this email's local part
   * (`srhea@cloudflare.com` → principal `srhea`).
   */
  readonly email: string;

  /**
   * The Unix account to create on the droplet.
   *
   * When it differs from the email's local part, the droplet maps the certificate's principal to
   * this account with `AuthorizedPrincipalsFile`.
   *
   * @default - the email's local part, which must then be a valid Unix name
   */
  readonly unixName?: string;

  /**
   * Whether the account may run any command as root with `sudo` (without a password: Access
   * users have none).
   *
   * @default false
   */
  readonly sudo?: boolean;

  /**
   * Extra groups the account joins, e.g. `www-data` or a team group (cloud-init creates any the
   * image lacks).
   *
   * Groups that are root by another name (`root`, `sudo`, `wheel`, `admin`, `disk`, `docker`,
   * `lxd`, `kmem`, `shadow`) are refused unless `sudo` is true: a member reads the tunnel token
   * off the block device or starts a container that mounts `/`. Groups that read the system logs
   * (`adm`, `systemd-journal`) are allowed with a warning.
   *
   * @default - none
   */
  readonly groups?: string[];
}

/**
 * A user given as an email (`"srhea@cloudflare.com"`) or as an {@link AccessUser}.
 *
 * @jsii ignore
 */
export type AccessUserInput = string | AccessUser;

/** How Unix names are derived from emails when a user gives no `unixName`. */
export enum UnixNameStyle {
  /** The email's local part as it is; it must already be a valid Unix name (`srhea@…` → `srhea`). */
  LOCAL_PART = 'local-part',
  /**
   * The local part lower-cased, without a `+tag`, other characters turned into `_`
   * (`Jane.Doe+ops@…` → `jane_doe`).
   */
  NORMALIZED = 'normalized',
}

/** How emails map to Unix names: shared by AccessDroplet, AccessDropletFleet and the renderer. */
export interface UnixNaming {
  /**
   * Unix names by email (case-insensitive), for people whose local part is not a Unix name
   * (e.g. `{ "Jane.Doe+ops@example.com": "jdoe" }`). A user's own `unixName` wins.
   *
   * @default - none
   */
  readonly unixNames?: { [email: string]: string };

  /**
   * How a Unix name is derived from an email without `unixName` or `unixNames` entry.
   * Two people mapped to one name are reported as an error.
   *
   * @default UnixNameStyle.LOCAL_PART
   */
  readonly unixNameStyle?: UnixNameStyle;
}

/** Which name the SSH certificates that open an account carry as principal. */
export enum CertificatePrincipals {
  /**
   * The email's local part: what Access short-lived certificates (self-hosted applications)
   * carry. An account whose Unix name differs accepts its owner's local part.
   */
  EMAIL_LOCAL_PART = 'email-local-part',
  /**
   * The Unix name: what Access for Infrastructure certificates carry (the username the person
   * asked for, checked against the policy's allowed usernames).
   */
  UNIX_NAME = 'unix-name',
}

/** every field of AccessUser: an unknown one (`unixname`) is refused, not ignored. */
const ACCESS_USER_KEYS: Record<keyof AccessUser, true> = { email: true, unixName: true, sudo: true, groups: true };

/** every key of UnixNaming: the constructs refuse keys they do not know. */
export const UNIX_NAMING_KEYS: Record<keyof UnixNaming, true> = { unixNames: true, unixNameStyle: true };

/** A user after validation: every field resolved. */
export interface ResolvedUser {
  readonly email: string;
  /** the certificate principal Access issues: the email's local part. */
  readonly principal: string;
  readonly unixName: string;
  readonly sudo: boolean;
  readonly groups: string[];
}

/** The portable Unix user name rule (POSIX portable set, lower case, at most 32 characters). */
export const UNIX_NAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

// local part: printable ASCII without spaces, quotes, angle brackets or separators.
const EMAIL_PATTERN =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]{0,61}[A-Za-z0-9]$/;

/**
 * Accounts and groups that exist on Ubuntu and Debian images (or that sshd and cloud-init treat
 * specially): an Access user must never be mapped onto one of them.
 */
const RESERVED_UNIX_NAMES = new Set([
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy',
  'www-data', 'backup', 'list', 'irc', 'gnats', 'nobody', 'nogroup', 'adm', 'tty', 'disk', 'kmem',
  'dialout', 'fax', 'voice', 'cdrom', 'floppy', 'tape', 'sudo', 'audio', 'dip', 'operator', 'src',
  'shadow', 'utmp', 'video', 'sasl', 'plugdev', 'staff', 'users', 'input', 'sgx', 'kvm', 'render',
  'crontab', 'messagebus', 'syslog', 'sshd', 'ssh', 'lxd', 'tss', 'uuidd', 'tcpdump', 'landscape',
  'pollinate', 'polkitd', 'netdev', 'admin', 'wheel', 'ubuntu', 'debian', 'dnsmasq', 'usbmux',
  'fwupd-refresh', 'cloudflared', 'ntp', 'chrony', 'postfix', 'docker', 'halt', 'shutdown',
]);

/**
 * Groups whose members are root by another route: the reason is part of the error message.
 */
export const ROOT_EQUIVALENT_GROUPS: { readonly [group: string]: string } = {
  root: 'owns root\'s files (/etc/cloudflared-access among them)',
  sudo: 'runs any command as root with sudo',
  wheel: 'runs commands as root with sudo or su on images that configure it',
  admin: 'runs any command as root with sudo on Ubuntu images',
  disk: 'reads and writes the raw block devices, so it reads /etc/cloudflared-access/tunnel.env and /etc/shadow straight off the disk',
  docker: 'starts containers that mount / as root',
  lxd: 'starts privileged containers that mount / as root',
  kmem: 'reads kernel memory',
  shadow: 'reads every password hash in /etc/shadow',
};

/** Groups that only read logs: allowed, with a warning that says what they expose. */
export const LOG_READER_GROUPS: { readonly [group: string]: string } = {
  'adm': 'reads /var/log (auth.log with every login and its source address, syslog, cloud-init\'s logs)',
  'systemd-journal': 'reads the whole system journal, every service\'s logs included',
};

function isReserved(name: string): boolean {
  return RESERVED_UNIX_NAMES.has(name) || name.startsWith('systemd-') || name.startsWith('_');
}

/** Throws unless `email` is a plausible address; returns its local part. */
export function validateEmail(field: string, email: unknown): string {
  if (typeof email !== 'string' || !EMAIL_PATTERN.test(email)) {
    throw new Error(`${field} ${JSON.stringify(email)} is not an email address; pass "name@example.com"`);
  }
  return email.slice(0, email.lastIndexOf('@'));
}

/**
 * Checks and normalises the users: emails, Unix names (valid, not reserved, unique), groups (no
 * root-equivalent group without `sudo`), at least one user, and, when certificates carry the
 * email's local part, one principal per person (see {@link checkPrincipalCollisions}).
 */
export function resolveUsers(
  users: readonly AccessUserInput[] | undefined,
  field = 'users',
  naming: UnixNaming = {},
  principals: CertificatePrincipals = CertificatePrincipals.EMAIL_LOCAL_PART,
): ResolvedUser[] {
  if (!Array.isArray(users) || users.length === 0) {
    throw new Error(`${field} is empty; pass at least one user, e.g. ["srhea@cloudflare.com"]`);
  }
  const style = naming.unixNameStyle ?? UnixNameStyle.LOCAL_PART;
  if (!Object.values(UnixNameStyle).includes(style)) {
    throw new Error(`unixNameStyle ${JSON.stringify(style)} is not one of ${Object.values(UnixNameStyle).join(', ')}`);
  }
  const mapped = new Map<string, string>();
  for (const [email, name] of Object.entries(naming.unixNames ?? {})) {
    validateEmail(`unixNames key`, email);
    mapped.set(email.toLowerCase(), name);
  }
  const byName = new Map<string, string>();
  const byEmail = new Map<string, number>();
  const localParts = principals === CertificatePrincipals.EMAIL_LOCAL_PART;
  const resolved = users.map((input, i) => {
    const user: AccessUser = typeof input === 'string' ? { email: input } : input;
    if (user === null || typeof user !== 'object') {
      throw new Error(`${field}[${i}] ${JSON.stringify(input)} is neither an email nor { email, unixName?, sudo? }`);
    }
    for (const key of Object.keys(user)) {
      if (!(key in ACCESS_USER_KEYS)) {
        const near = Object.keys(ACCESS_USER_KEYS).find((k) => k.toLowerCase() === key.toLowerCase());
        throw new Error(
          `${field}[${i}].${key} is not a field of AccessUser and would be ignored; ` +
          (near !== undefined ? `write it "${near}"` : `remove it (fields: ${Object.keys(ACCESS_USER_KEYS).join(', ')})`),
        );
      }
    }
    const principal = validateEmail(`${field}[${i}].email`, user.email);
    // one person, one entry: a second entry (say with another unixName and sudo) would be a
    // second account that accepts the same certificates.
    const before = byEmail.get(user.email.toLowerCase());
    if (before !== undefined) {
      throw new Error(`${field}[${i}] ${JSON.stringify(user.email)} is listed twice (also ${field}[${before}]); remove the duplicate`);
    }
    byEmail.set(user.email.toLowerCase(), i);
    if (localParts && principal.startsWith('#')) {
      // sshd reads a principals file line that starts with # as a comment: the account would
      // accept no certificate, and a later edit could turn it into something else.
      throw new Error(
        `${field}[${i}].email ${JSON.stringify(user.email)} has a local part that starts with "#", which sshd reads as a comment in the principals file; ` +
        'give this person an address without a leading "#", or use infrastructure mode, where the principal is the Unix name',
      );
    }
    const fromMap = mapped.get(user.email.toLowerCase());
    const unixName = user.unixName ?? fromMap ?? (style === UnixNameStyle.NORMALIZED ? normalizeLocalPart(principal) : principal);
    const source = user.unixName !== undefined ? '' : fromMap !== undefined ? ' (from unixNames)' : style === UnixNameStyle.NORMALIZED ? ' (from unixNameStyle normalized)' : '';
    if (!UNIX_NAME_PATTERN.test(unixName)) {
      const hint = user.unixName === undefined && fromMap === undefined
        ? `; the email's local part is used by default, so pass { email: ${JSON.stringify(user.email)}, unixName: "..." }, a unixNames entry, or unixNameStyle: UnixNameStyle.NORMALIZED`
        : '';
      throw new Error(
        `${field}[${i}] unix name ${JSON.stringify(unixName)}${source} is not a valid Unix user name ` +
        `(${UNIX_NAME_PATTERN.source})${hint}`,
      );
    }
    if (isReserved(unixName)) {
      throw new Error(
        `${field}[${i}] unix name "${unixName}"${source} is reserved for the system; pass another unixName for ${user.email}`,
      );
    }
    const clash = byName.get(unixName);
    if (clash !== undefined) {
      throw new Error(
        `${field}[${i}] unix name "${unixName}"${source} (${user.email}) is already used by ${clash}; give one of them another unixName`,
      );
    }
    byName.set(unixName, user.email);
    const groups = [...(user.groups ?? [])];
    for (const g of groups) {
      if (typeof g !== 'string' || !UNIX_NAME_PATTERN.test(g)) {
        throw new Error(`${field}[${i}].groups has ${JSON.stringify(g)}, which is not a valid group name`);
      }
      const why = Object.prototype.hasOwnProperty.call(ROOT_EQUIVALENT_GROUPS, g) ? ROOT_EQUIVALENT_GROUPS[g] : undefined;
      if (why !== undefined && user.sudo !== true) {
        throw new Error(
          `${field}[${i}].groups has "${g}" for ${user.email}, a root-equivalent group (a member ${why}); ` +
          'remove it, or set sudo: true if this person may be root anyway',
        );
      }
    }
    return { email: user.email, principal, unixName, sudo: user.sudo === true, groups };
  });
  if (localParts) checkPrincipalCollisions(resolved, `${field}`);
  return resolved;
}

/**
 * Throws when two people (different emails, compared case-insensitively) would get certificates
 * with the same principal. Access signs a short-lived certificate for the email's local part,
 * and an account accepts its owner's local part in either case, so `admin@corp.com` and
 * `Admin@vendor.io` would each open the other's account.
 *
 * Call it over everyone who can reach hosts that trust the same CA: for one droplet its users;
 * for a fleet, the common users and every host's own users of one Access application. Only for
 * certificates that carry the local part (not in infrastructure mode, where the principal is the
 * Unix name, already unique).
 *
 * @param users the resolved users (one person may appear more than once, e.g. on two hosts)
 * @param where what the users are, for the message, e.g. `users` or `the hosts of app-1`
 */
export function checkPrincipalCollisions(users: readonly ResolvedUser[], where: string): void {
  const byPrincipal = new Map<string, string>();
  for (const u of users) {
    const principal = u.principal.toLowerCase();
    const other = byPrincipal.get(principal);
    if (other === undefined) {
      byPrincipal.set(principal, u.email);
    } else if (other.toLowerCase() !== u.email.toLowerCase()) {
      throw new Error(
        `${where}: ${other} and ${u.email} would both get certificates for principal "${principal}" ` +
        '(Access signs the email\'s local part, and each account also accepts its lower-case spelling), so each could open the other\'s account; ' +
        'unixName does not help, the certificate is what collides: keep them on hosts with different Access applications, ' +
        'or use infrastructure mode (mode: AccessMode.INFRASTRUCTURE), where the principal is the Unix name',
      );
    }
  }
}

/**
 * What a reviewer should know about the users, beyond what is refused: groups that read logs.
 * The constructs attach these as warnings (Annotations); `renderCloudInit` cannot warn, so
 * callers of the renderer read them from `CloudInit.warnings`.
 */
export function userWarnings(users: readonly ResolvedUser[]): string[] {
  const warnings: string[] = [];
  for (const u of users) {
    for (const g of u.groups) {
      const what = Object.prototype.hasOwnProperty.call(LOG_READER_GROUPS, g) ? LOG_READER_GROUPS[g] : undefined;
      if (what !== undefined && !u.sudo) {
        warnings.push(`${u.email} (${u.unixName}) joins group "${g}", whose members read logs: it ${what}`);
      }
    }
  }
  return warnings;
}

/** `Jane.Doe+ops` → `jane_doe`: lower case, no `+tag`, other characters become `_`. */
export function normalizeLocalPart(localPart: string): string {
  return localPart.toLowerCase().replace(/\+.*$/, '').replace(/[^a-z0-9_-]+/g, '_').replace(/^[^a-z_]+/, '').slice(0, 32);
}
