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
   * Extra groups the account joins, e.g. `adm`, `docker` (cloud-init creates any the image lacks).
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
 * Checks and normalises the users: emails, Unix names (valid, not reserved, unique), and at
 * least one user.
 */
export function resolveUsers(users: readonly AccessUserInput[] | undefined, field = 'users', naming: UnixNaming = {}): ResolvedUser[] {
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
  return users.map((input, i) => {
    const user: AccessUser = typeof input === 'string' ? { email: input } : input;
    if (user === null || typeof user !== 'object') {
      throw new Error(`${field}[${i}] ${JSON.stringify(input)} is neither an email nor { email, unixName?, sudo? }`);
    }
    const principal = validateEmail(`${field}[${i}].email`, user.email);
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
      if (!UNIX_NAME_PATTERN.test(g)) {
        throw new Error(`${field}[${i}].groups has ${JSON.stringify(g)}, which is not a valid group name`);
      }
    }
    return { email: user.email, principal, unixName, sudo: user.sudo === true, groups };
  });
}

/** `Jane.Doe+ops` → `jane_doe`: lower case, no `+tag`, other characters become `_`. */
export function normalizeLocalPart(localPart: string): string {
  return localPart.toLowerCase().replace(/\+.*$/, '').replace(/[^a-z0-9_-]+/g, '_').replace(/^[^a-z_]+/, '').slice(0, 32);
}
