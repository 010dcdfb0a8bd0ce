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
   * Extra groups the account joins, e.g. `www-data` or a team group (the droplet creates any the
   * image lacks).
   *
   * Without `sudo`, a person joins only `users`, `www-data`, the log groups `adm` and
   * `systemd-journal` (with a warning), or a team group that no image or package creates. Every
   * other group the system or a package has (`root`, `sudo`, `disk`, `docker`, `lxd`, `libvirt`,
   * `incus-admin`, `microk8s`, `cdrom`, `staff`, `video`, ...) needs `sudo: true`: its members may
   * reach root or the tunnel token, e.g. `cdrom` reads the droplet's config drive, which holds
   * the whole user_data.
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
 * Groups a person joins without `sudo` even though the image has them: known to grant nothing
 * beyond what they are named for. `adm` and `systemd-journal` read logs, with a warning
 * ({@link LOG_READER_GROUPS}). Every other group the image or a package may create needs `sudo`.
 */
export const SAFE_GROUPS: readonly string[] = ['users', 'www-data', 'adm', 'systemd-journal'];

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
  libvirt: 'drives libvirtd\'s root socket, so it starts a virtual machine on the host\'s own disk',
  'incus-admin': 'drives incus\'s root socket, so it starts privileged containers that mount / as root',
  microk8s: 'runs kubectl as the cluster admin, so it starts privileged pods that mount / as root',
};

/** Groups that only read logs: allowed, with a warning that says what they expose. */
export const LOG_READER_GROUPS: { readonly [group: string]: string } = {
  'adm': 'reads /var/log (auth.log with every login and its source address, syslog, cloud-init\'s logs)',
  'systemd-journal': 'reads the whole system journal, every service\'s logs included',
};

/**
 * Groups with a way to something they are not named for, beyond {@link ROOT_EQUIVALENT_GROUPS}.
 */
const PRIVILEGED_GROUPS: { readonly [group: string]: string } = {
  'cdrom': 'reads the config drive a droplet keeps attached as /dev/sr0 (root:cdrom 0660), which holds the whole user_data with the tunnel token',
  'libvirt-qemu': 'owns the disk images and processes of libvirt\'s virtual machines',
  'incus': 'starts containers through incus\'s socket',
  'lxc': 'starts containers, which mount / as root on hosts that allow it',
  'staff': 'writes /usr/local on images that make it group-writable, and /usr/local/bin comes first in root\'s PATH',
  'kvm': 'opens /dev/kvm and runs virtual machines',
  'video': 'reads the framebuffer and video devices',
  'render': 'drives the GPU devices directly',
  'input': 'reads every keystroke and pointer event from /dev/input',
  'plugdev': 'mounts and drives removable devices',
  'dialout': 'opens the serial ports, where a console may be logged in',
  'tty': 'writes to other people\'s terminals',
  'utmp': 'rewrites the login records',
  'mail': 'reads and writes every mailbox in /var/mail',
  'crontab': 'writes into cron\'s spool directory, /var/spool/cron/crontabs',
  'ssl-cert': 'reads the TLS private keys in /etc/ssl/private',
  'sasl': 'reads the SASL password database',
  'netdev': 'changes the network configuration through NetworkManager or wpa_supplicant',
  'lpadmin': 'administers the printers through CUPS',
  'wireshark': 'captures every packet on the host with dumpcap',
  'tcpdump': 'captures packets',
  'pcap': 'captures packets',
  'backup': 'owns the backups, which hold everyone\'s files',
  'postgres': 'owns the PostgreSQL data and connects as its superuser',
  'mysql': 'owns the MySQL data files',
};

// the catalogue behind the name rule below: groups and accounts that Debian and Ubuntu images
// (base-passwd, systemd, cloud images) and common packages create, so that a Unix name or a
// group named here is never an Access user's own.
const SYSTEM_NAMES = [
  // base-passwd, systemd and the cloud images
  'root', 'daemon', 'bin', 'sys', 'sync', 'games', 'man', 'lp', 'mail', 'news', 'uucp', 'proxy', 'www-data', 'backup',
  'list', 'irc', 'gnats', 'nobody', 'nogroup', 'adm', 'tty', 'disk', 'kmem', 'dialout', 'fax', 'voice', 'cdrom', 'floppy',
  'tape', 'sudo', 'audio', 'dip', 'operator', 'src', 'shadow', 'utmp', 'video', 'sasl', 'plugdev', 'staff', 'users', 'input',
  'sgx', 'kvm', 'render', 'crontab', 'messagebus', 'syslog', 'sshd', 'ssh', 'tss', 'uuidd', 'tcpdump', 'landscape',
  'pollinate', 'polkitd', 'netdev', 'admin', 'wheel', 'ubuntu', 'debian', 'dnsmasq', 'usbmux', 'fwupd-refresh', 'lxd',
  'halt', 'shutdown', 'ssl-cert', 'lpadmin', 'sambashare', 'bluetooth', 'scanner', 'fuse', 'rdma', 'dhcpcd', 'statd',
  'avahi', 'avahi-autoipd', 'colord', 'geoclue', 'pulse', 'pulse-access', 'rtkit', 'saned', 'lightdm', 'gdm', 'whoopsie',
  'kernoops', 'speech-dispatcher', 'hplip', 'pipewire', 'i2c', 'gpio', 'spi', 'nvme', 'snapd', 'snap_daemon',
  // DigitalOcean's agents, and our own
  'do-agent', 'droplet-agent', 'cloudflared',
  // containers and virtual machines
  'docker', 'podman', 'containerd', 'libvirt', 'libvirt-qemu', 'libvirt-dnsmasq', 'incus', 'incus-admin', 'lxc',
  'microk8s', 'snap_microk8s', 'qemu', 'vboxusers', 'vboxsf', 'wireshark', 'pcap',
  // time, mail, names, directories
  'ntp', 'ntpsec', 'chrony', 'postfix', 'postdrop', 'exim', 'dovecot', 'dovenull', 'opendkim', 'opendmarc', 'clamav',
  'amavis', 'spamd', 'bind', 'named', 'unbound', 'openldap', 'slapd', 'sssd', 'nscd', 'openvpn', 'strongswan',
  // databases, queues, caches
  'postgres', 'mysql', 'mariadb', 'redis', 'mongodb', 'memcache', 'memcached', 'rabbitmq', 'elasticsearch', 'opensearch',
  'kibana', 'cassandra', 'couchdb', 'influxdb', 'clickhouse', 'etcd', 'zookeeper', 'kafka', 'minio', 'ceph', 'gluster',
  // web, build and monitoring services
  'nginx', 'apache', 'apache2', 'httpd', 'caddy', 'haproxy', 'varnish', 'squid', 'tomcat', 'tomcat9', 'tomcat10', 'jetty',
  'solr', 'jenkins', 'git', 'gitlab', 'gitlab-runner', 'gitea', 'grafana', 'prometheus', 'node-exporter', 'telegraf',
  'nagios', 'zabbix', 'munin', 'collectd', 'netdata', 'snmp', 'consul', 'vault', 'nomad', 'ftp', 'www',
];
const SYSTEM_NAME_SET = new Set(SYSTEM_NAMES);

/**
 * The reserved-name rule: a Unix name is reserved when a Debian or Ubuntu image, systemd or a
 * common package creates an account or group of that name (the catalogue above), or when it
 * starts with `systemd-` or `_`, the prefixes systemd and Debian keep for system accounts. The
 * catalogue cannot know every package; on the host the agent's invariant covers the rest: it
 * never touches an account it did not create, so a clash leaves the person without an account,
 * never the service without its own.
 */
function isReserved(name: string): boolean {
  return SYSTEM_NAME_SET.has(name) || name.startsWith('systemd-') || name.startsWith('_');
}

/**
 * Why a person without `sudo` may not join `group`, or undefined when they may. The rule (an
 * allowlist): the group is one of {@link SAFE_GROUPS}, or no image or package we know of
 * creates it, so it is a team group the host creates for the people listed in it. The host
 * agent enforces the same rule on the groups the droplet really has.
 */
function groupRefusal(group: string): { kind: string; why: string } | undefined {
  if (SAFE_GROUPS.includes(group)) return undefined;
  const own = (table: { readonly [g: string]: string }) => (Object.prototype.hasOwnProperty.call(table, group) ? table[group] : undefined);
  const rootEquivalent = own(ROOT_EQUIVALENT_GROUPS);
  if (rootEquivalent !== undefined) return { kind: 'a root-equivalent group', why: rootEquivalent };
  if (!isReserved(group)) return undefined;
  const privileged = own(PRIVILEGED_GROUPS);
  if (privileged !== undefined) return { kind: 'a privileged system group', why: privileged };
  return {
    kind: 'a system group',
    why:
      `may own devices, sockets or files that lead to root or to the tunnel token; without sudo only ${SAFE_GROUPS.join(', ')} and new team groups are allowed`,
  };
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
 * system group outside the safe list without `sudo`), at least one user, and, when certificates carry the
 * email's local part, one principal per person (see {@link checkPrincipalCollisions}).
 */
/**
 * Every `unixNames` entry maps a listed user to a valid, unreserved Unix name. An entry that no
 * listed user has (a misspelt address, a person removed from `users` but not from the map) would
 * otherwise be ignored without a word, and its name checked only once someone is listed again.
 * `users` is every user list the entries apply to (a fleet's common and per-host users).
 */
export function checkUnixNames(naming: UnixNaming, users: readonly AccessUserInput[]): void {
  const map = naming.unixNames;
  if (map === undefined) return;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new Error(`unixNames must be an object of email to Unix name, e.g. { "jane.doe@example.com": "jdoe" }; got ${JSON.stringify(map)}`);
  }
  const listed = new Set<string>();
  for (const u of users) {
    const email = typeof u === 'string' ? u : (u as AccessUser | null)?.email;
    if (typeof email === 'string') listed.add(email.toLowerCase());
  }
  const seen = new Map<string, string>();
  for (const [email, name] of Object.entries(map)) {
    validateEmail('unixNames key', email);
    const field = `unixNames[${JSON.stringify(email)}]`;
    const before = seen.get(email.toLowerCase());
    if (before !== undefined) throw new Error(`${field} repeats ${JSON.stringify(before)} (emails are case-insensitive); remove one`);
    seen.set(email.toLowerCase(), email);
    if (typeof name !== 'string' || !UNIX_NAME_PATTERN.test(name)) {
      throw new Error(`${field} ${JSON.stringify(name)} is not a valid Unix user name (${UNIX_NAME_PATTERN.source})`);
    }
    if (isReserved(name)) throw new Error(`${field} "${name}" is reserved for the system; pick another name`);
    if (!listed.has(email.toLowerCase())) {
      throw new Error(`${field} names no listed user; fix the email or remove the entry (it would be ignored)`);
    }
  }
}

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
      const refusal = user.sudo === true ? undefined : groupRefusal(g);
      if (refusal !== undefined) {
        throw new Error(
          `${field}[${i}].groups has "${g}" for ${user.email}, ${refusal.kind} (a member ${refusal.why}); ` +
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
