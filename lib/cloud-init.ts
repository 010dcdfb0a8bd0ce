import { readFileSync } from 'fs';
import { join } from 'path';
import { Fn, Token } from 'cdktf';
import { AccountRecord, encodeAccountTags } from './account-tags';
import { AccessUserInput, CertificatePrincipals, checkUnixNames, resolveUsers, ResolvedUser, UnixNaming, userWarnings } from './users';

// the enum lives with the users, whose checks depend on it; it stays exported from here too.
export { CertificatePrincipals };

const DEFAULT_CLOUDFLARED_APT_URL = 'https://pkg.cloudflare.com/cloudflared';
const DEFAULT_CLOUDFLARED_APT_KEY_URL = 'https://pkg.cloudflare.com/cloudflare-main.gpg';
const USER_DATA_LIMIT_BYTES = 64 * 1024;
const SSHD_DROP_IN_NAME = '10-cloudflare-access.conf';

/** What {@link renderCloudInit} needs. */
export interface CloudInitOptions {
  /**
   * The Access short-lived certificate CA's public key, written to `/etc/ssh/ca.pub`.
   *
   * A literal OpenSSH public key (one line) or a cdktf token such as
   * `shortLivedCertificate.publicKey`.
   */
  readonly caPublicKey: string;

  /**
   * The remotely-managed tunnel's token, written to a root-only environment file read by the
   * cloudflared service.
   *
   * A literal token or a cdktf token such as `tunnelToken.token`.
   */
  readonly tunnelToken: string;

  /**
   * Whether every process with UID 1000 and up is kept from DigitalOcean's metadata service,
   * which serves the droplet's user_data, tunnel token included, to any local process.
   *
   * Two layers: systemd's IP filter on every slice (only cloud-init's units, DigitalOcean's agents
   * and the accounts agent are let through), and an nftables rule (iptables where nft is
   * missing; Ubuntu and Debian have them).
   *
   * @default true
   */
  readonly restrictMetadataService?: boolean;

  /**
   * Whether Access users may forward TCP connections from the droplet (`ssh -L`, `-D`, `-W`),
   * e.g. to reach a database that listens only on the host. Each of them can then reach
   * whatever the droplet reaches: services on its loopback (cloudflared's metrics endpoint among
   * them), other droplets in its VPC, the internet. Agent, X11, unix-socket, tunnel-device and
   * remote (`ssh -R`) forwarding stay off either way, as does `~/.ssh/rc`.
   *
   * The constructs warn when it is set; {@link CloudInit.warnings} returns that warning for
   * callers of the renderer.
   *
   * @default false
   */
  readonly allowPortForwarding?: boolean;

  /**
   * Whether the droplet keeps cloudflared current from its repository: a daily timer installs a
   * newer release, restarts the tunnel onto it (ending the SSH sessions through it) and checks it
   * comes up; a release that does not is rolled back to the previous binary and skipped, so the
   * host is never left without a running connector.
   *
   * @default true
   */
  readonly cloudflaredAutoUpdate?: boolean;

  /**
   * The apt repository cloudflared is installed from (Cloudflare's or a mirror of it).
   *
   * @default "https://pkg.cloudflare.com/cloudflared"
   */
  readonly cloudflaredAptUrl?: string;

  /**
   * The apt suite of that repository.
   *
   * @default "any"
   */
  readonly cloudflaredAptSuite?: string;

  /**
   * The apt component of that repository.
   *
   * @default "main"
   */
  readonly cloudflaredAptComponent?: string;

  /**
   * Where the droplet downloads the OpenPGP key that signs the repository (binary `.gpg` or
   * ASCII-armoured); any URL curl reads, `file://` included.
   *
   * @default "https://pkg.cloudflare.com/cloudflare-main.gpg"
   */
  readonly cloudflaredAptKeyUrl?: string;
}

/**
 * The scripts the cloud-config ships gzipped and base64-encoded (`encoding: gz+b64`), to stay
 * well inside DigitalOcean's 64 KiB user_data: `cloud-init/<name>.gz.b64`, made by
 * `scripts/pack-cloud-init.ts` and committed, so every machine renders the same user_data.
 * @internal
 */
export const PACKED_SCRIPTS = ['accounts', 'update-cloudflared'];

// static fragments are read once per process, on first use, and kept already indented for
// their YAML block scalars, so a fleet does not redo the same indenting for every host.
let fragments: {
  template: string; sshd: string; sshdForwarding: string; unit: string; setup: string; guard: string; guardUnit: string;
  guardRequires: string; guardRootSlice: string; guardAllow: string; guardNftables: string; accounts: string; accountsService: string;
  accountsTimer: string; updater: string; updaterService: string; updaterTimer: string;
} | undefined;
function loadFragments() {
  if (!fragments) {
    const dir = join(__dirname, '..', 'cloud-init');
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    const packed = (name: string) => JSON.stringify(read(`${name}.gz.b64`).trim());
    const sshd = read('sshd-access.conf');
    fragments = {
      template: read('cloud-config.yaml'),
      sshd: indent(sshd, 6),
      sshdForwarding: indent(withPortForwarding(sshd), 6),
      unit: indent(read('cloudflared-access.service'), 6),
      setup: indent(read('setup.sh'), 6),
      guard: indent(read('metadata-guard.sh'), 6),
      guardUnit: indent(read('cdktf-metadata-guard.service'), 6),
      guardRequires: indent(read('metadata-guard-requires.conf'), 6),
      guardRootSlice: indent(read('metadata-guard-root-slice.conf'), 6),
      guardAllow: indent(read('metadata-guard-allow.conf'), 6),
      guardNftables: indent(read('metadata-guard-nftables.conf'), 6),
      accounts: packed('accounts'),
      accountsService: indent(read('cdktf-access-accounts.service'), 6),
      accountsTimer: indent(read('cdktf-access-accounts.timer'), 6),
      updater: packed('update-cloudflared'),
      updaterService: indent(read('cdktf-cloudflared-update.service'), 6),
      updaterTimer: indent(read('cdktf-cloudflared-update.timer'), 6),
    };
  }
  return fragments;
}

// the most a resolved CA key or tunnel token is assumed to add, for the size check.
const TOKEN_SIZE_ALLOWANCE = 1024;
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [\x21-\x7e][\x20-\x7e]*)?$/;
const TUNNEL_TOKEN = /^[A-Za-z0-9+/_=-]{16,4096}$/;
// apt fields end up on a `deb` line and on the setup command line: no spaces or shell syntax.
const APT_URL = /^(https?|file):\/\/[A-Za-z0-9._~:/?#@!&+,=%-]+$/;
const APT_WORD = /^[A-Za-z0-9._/-]+$/;

/** A YAML double-quoted scalar holding `value`: JSON strings are valid YAML. */
function quoted(value: string): string {
  return Token.isUnresolved(value) ? Fn.jsonencode(value) : JSON.stringify(value);
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text.replace(/\n$/, '').split('\n').map((l) => (l ? pad + l : l)).join('\n');
}

function checkLiteral(field: string, value: string, pattern: RegExp, what: string) {
  if (typeof value !== 'string') {
    throw new Error(`${field} must be a string, got ${typeof value}`);
  }
  if (!Token.isUnresolved(value) && !pattern.test(value)) {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    throw new Error(`${field} ${JSON.stringify(shown)} is not ${what}`);
  }
}

/** the drop-in with local TCP forwarding allowed: the one switch `allowPortForwarding` turns. */
function withPortForwarding(dropIn: string): string {
  const swap = (text: string, from: string, to: string) => {
    if (text.split('\n').filter((l) => l === from).length !== 1) {
      throw new Error(`cloud-init/sshd-access.conf must have the line "${from}" once`);
    }
    return text.split('\n').map((l) => (l === from ? to : l)).join('\n');
  };
  const noBlanket = swap(dropIn, 'DisableForwarding yes', '# allowPortForwarding: local TCP forwarding (ssh -L, -D, -W) only.\nDisableForwarding no');
  return swap(noBlanket, 'AllowTcpForwarding no', 'AllowTcpForwarding local');
}

/** What a reviewer should know about rendering these options: see {@link CloudInit.warnings}. */
function optionWarnings(options: { allowPortForwarding?: boolean }): string[] {
  return options.allowPortForwarding === true
    ? ['allowPortForwarding is set: every Access user can forward TCP connections from the droplet (ssh -L, -D, -W) to anything it reaches: ' +
      'services listening only on its loopback (cloudflared\'s metrics endpoint among them), other droplets in its VPC, and the internet']
    : [];
}

/**
 * The root services that keep the metadata service past the guard's deny on -.slice: cloud-init's
 * units (their names from 22.4 to 25.x), DigitalOcean's agents, and our accounts agent, which
 * reads the droplet's tags. Every other unit, whatever its slice, is denied.
 */
export const METADATA_GUARD_ALLOWED_UNITS: readonly string[] = [
  'cloud-init-local.service', 'cloud-init.service', 'cloud-init-network.service', 'cloud-init-main.service',
  'cloud-config.service', 'cloud-final.service', 'cloud-init-hotplugd.service',
  'droplet-agent.service', 'do-agent.service', 'cdktf-access-accounts.service',
];

/**
 * the guard's systemd drop-ins: the deny on -.slice (the layer no ruleset flush touches), the
 * nftables.service drop-in that puts the nftables layer back, and ssh and cloudflared tied to
 * the guard.
 */
export const METADATA_GUARD_DROP_INS = {
  rootSlice: '/etc/systemd/system/-.slice.d/cdktf-metadata-guard.conf',
  ssh: '/etc/systemd/system/ssh.service.d/cdktf-metadata-guard.conf',
  cloudflared: '/etc/systemd/system/cloudflared-access.service.d/cdktf-metadata-guard.conf',
  nftables: '/etc/systemd/system/nftables.service.d/cdktf-metadata-guard.conf',
} as const;

/** the allow drop-in of each unit in {@link METADATA_GUARD_ALLOWED_UNITS}, in that order. */
export const METADATA_GUARD_ALLOW_DROP_INS: readonly string[] = METADATA_GUARD_ALLOWED_UNITS
  .map((unit) => `/etc/systemd/system/${unit}.d/cdktf-metadata-guard.conf`);

/** the updater that keeps cloudflared current, its service and its daily timer. */
function cloudflaredUpdateEntries(f: ReturnType<typeof loadFragments>): string {
  return [
    '  - path: /usr/local/lib/cdktf-access-droplet/update-cloudflared',
    '    owner: root:root',
    '    permissions: "0755"',
    '    # cloud-init/update-cloudflared, gzipped (scripts/pack-cloud-init.ts).',
    '    encoding: gz+b64',
    `    content: ${f.updater}`,
    '  - path: /etc/systemd/system/cdktf-cloudflared-update.service',
    '    owner: root:root',
    '    permissions: "0644"',
    '    content: |',
    f.updaterService,
    '  - path: /etc/systemd/system/cdktf-cloudflared-update.timer',
    '    owner: root:root',
    '    permissions: "0644"',
    '    content: |',
    f.updaterTimer,
  ].join('\n');
}

function metadataGuardEntries(f: ReturnType<typeof loadFragments>): string {
  const entry = (path: string, permissions: string, content: string) => [
    `  - path: ${path}`,
    '    owner: root:root',
    `    permissions: "${permissions}"`,
    '    content: |',
    content,
  ];
  return [
    ...entry('/usr/local/lib/cdktf-access-droplet/metadata-guard', '0755', f.guard),
    ...entry('/etc/systemd/system/cdktf-metadata-guard.service', '0644', f.guardUnit),
    ...entry(METADATA_GUARD_DROP_INS.rootSlice, '0644', f.guardRootSlice),
    ...METADATA_GUARD_ALLOW_DROP_INS.flatMap((path) => entry(path, '0644', f.guardAllow)),
    ...entry(METADATA_GUARD_DROP_INS.ssh, '0644', f.guardRequires),
    ...entry(METADATA_GUARD_DROP_INS.cloudflared, '0644', f.guardRequires),
    ...entry(METADATA_GUARD_DROP_INS.nftables, '0644', f.guardNftables),
  ].join('\n');
}

/** What {@link renderAccountTags} needs: the people, and how their accounts are named. */
export interface AccountTagsOptions extends UnixNaming {
  /** The people who may log in; one Unix account each. */
  readonly users: AccessUserInput[];

  /**
   * Which principal a certificate must carry to open an account: the email's local part
   * (self-hosted applications' short-lived certificates) or the Unix name (Access for
   * Infrastructure).
   *
   * @default CertificatePrincipals.EMAIL_LOCAL_PART
   */
  readonly certificatePrincipals?: CertificatePrincipals;
}

/** the accounts of these users as the host agent creates them. @internal */
export function accountRecords(users: readonly ResolvedUser[], principals: CertificatePrincipals): AccountRecord[] {
  return users.map((u) => ({
    name: u.unixName,
    email: u.email,
    // a local part's case is the IdP's; accept the lower-case spelling of the same mailbox too.
    principals: principals === CertificatePrincipals.UNIX_NAME ? [u.unixName] : [...new Set([u.principal, u.principal.toLowerCase()])],
    sudo: u.sudo,
    groups: u.groups,
  }));
}

/**
 * The droplet tags that carry these users' accounts, and the warnings about them (groups that
 * read logs). Checks the users as the constructs do. @internal
 */
export function renderAccountTagsWithWarnings(options: AccountTagsOptions): { tags: string[]; warnings: string[] } {
  const principals = options.certificatePrincipals ?? CertificatePrincipals.EMAIL_LOCAL_PART;
  if (!Object.values(CertificatePrincipals).includes(principals)) {
    throw new Error(`certificatePrincipals ${JSON.stringify(principals)} is not one of ${Object.values(CertificatePrincipals).join(', ')}`);
  }
  // when certificates carry the email's local part, this refuses two people with one principal.
  const users = resolveUsers(options.users, 'users', options, principals);
  checkUnixNames(options, Array.isArray(options.users) ? options.users : []);
  return { tags: encodeAccountTags(accountRecords(users, principals)), warnings: userWarnings(users) };
}

/**
 * The DigitalOcean tags that carry the accounts of these users (see {@link CloudInit.accountTags}).
 * @jsii ignore
 */
export function renderAccountTags(options: AccountTagsOptions): string[] {
  return renderAccountTagsWithWarnings(options).tags;
}

/**
 * The droplet's cloud-config: what it does at first boot, and its defaults.
 */
export class CloudInit {
  /** Cloudflare's apt repository for cloudflared. */
  public static readonly DEFAULT_CLOUDFLARED_APT_URL = DEFAULT_CLOUDFLARED_APT_URL;

  /**
   * The key that signs Cloudflare's apt repository. Cloudflare rotated it in November 2025 (keys
   * saved before then no longer verify the repository); the new key was first published as
   * `cloudflare-public-v2.gpg` and is now documented at this URL.
   */
  public static readonly DEFAULT_CLOUDFLARED_APT_KEY_URL = DEFAULT_CLOUDFLARED_APT_KEY_URL;

  /** DigitalOcean's limit on `user_data`, in bytes. */
  public static readonly USER_DATA_LIMIT_BYTES = USER_DATA_LIMIT_BYTES;

  /** The name of the droplet's sshd drop-in; `10-` sorts before cloud-init's `50-cloud-init.conf`. */
  public static readonly SSHD_DROP_IN_NAME = SSHD_DROP_IN_NAME;

  /**
   * Renders the droplet's cloud-config (`#cloud-config` user data); see {@link renderCloudInit}.
   */
  public static render(options: CloudInitOptions): string {
    return renderCloudInit(options);
  }

  /**
   * What the constructs would warn about for these options (the renderer itself cannot warn):
   * `allowPortForwarding`. Throws on the same malformed options as {@link renderCloudInit}.
   */
  public static warnings(options: CloudInitOptions): string[] {
    return renderCloudInitWithWarnings(options).warnings;
  }

  /**
   * The DigitalOcean tags that carry these users' Unix accounts to a droplet with this
   * cloud-config: put them on the droplet (`tags`), and its accounts agent creates, changes and
   * locks accounts to match, within about a minute, whenever they change. Checks the users as the
   * constructs do (Unix names, principals, groups).
   */
  public static accountTags(options: AccountTagsOptions): string[] {
    return renderAccountTags(options);
  }

  /**
   * What the constructs would warn about these users: groups whose members read logs.
   */
  public static accountWarnings(options: AccountTagsOptions): string[] {
    return renderAccountTagsWithWarnings(options).warnings;
  }

  private constructor() {}
}

/**
 * Renders the droplet's cloud-config (`#cloud-config` user data). `CloudInit.render` is the same
 * function for other jsii languages.
 *
 * A pure function: the same options give the same text. The CA key and the tunnel token may be
 * literal values or cdktf tokens; tokens are JSON-encoded by Terraform at apply time, so whatever
 * they resolve to cannot break the YAML. Literal values are checked here.
 *
 * @throws Error naming the field and the value when an option is malformed, or when the result
 *   would exceed DigitalOcean's 64 KiB user_data limit.
 * @jsii ignore
 */
export function renderCloudInit(options: CloudInitOptions): string {
  return renderCloudInitWithWarnings(options).text;
}

/**
 * {@link renderCloudInit}, and what a construct should warn about (see {@link CloudInit.warnings}).
 * @internal
 */
export function renderCloudInitWithWarnings(options: CloudInitOptions): { text: string; warnings: string[] } {
  const template = cloudConfigTemplate(options);
  checkPerHost(options);
  checkUserDataSize(template, options.caPublicKey, options.tunnelToken);
  return { text: fillUserData(template, options.caPublicKey, options.tunnelToken), warnings: [...template.warnings] };
}

/**
 * The cloud-config with the two values that differ from host to host (the CA key and the tunnel
 * token) left open: literal text and the names of the values between them (text, name, text,
 * name, text). A construct makes it once, while planning, and fills it per host.
 * @internal
 */
export interface UserDataTemplate {
  readonly parts: readonly string[];
  /** the UTF-8 size of the literal text. */
  readonly bytes: number;
  /** what a construct should warn about (see {@link CloudInit.warnings}). */
  readonly warnings: readonly string[];
}

/** the template for `options` (the CA key and tunnel token in them are not read). @internal */
export function cloudConfigTemplate(options: Omit<CloudInitOptions, 'caPublicKey' | 'tunnelToken'>): UserDataTemplate {
  return renderStatic(options);
}

/**
 * The values of a template filled in: literal values JSON-quoted, tokens through jsonencode.
 * `texts` stands in for the template's literal text, one entry per text part (the build passes
 * references to a Terraform local that holds the text once for every droplet). @internal
 */
export function fillUserData(template: UserDataTemplate, caPublicKey: string, tunnelToken: string, texts?: readonly string[]): string {
  return joinUserData(template, quotedCaPublicKey(caPublicKey), quotedTunnelToken(tunnelToken), texts);
}

/** the CA key's line of user_data, JSON-quoted (by Terraform's jsonencode if it is a token). @internal */
export function quotedCaPublicKey(caPublicKey: string): string {
  return quoted(`${caPublicKey}\n`);
}

/** the tunnel token's line of user_data, JSON-quoted (by Terraform's jsonencode if it is a token). @internal */
export function quotedTunnelToken(tunnelToken: string): string {
  return quoted(`TUNNEL_TOKEN=${tunnelToken}\n`);
}

/**
 * The template with its two values already quoted (quotedCaPublicKey, quotedTunnelToken, or the
 * Terraform expressions that render them), and its literal text, or `texts` in its place. @internal
 */
export function joinUserData(template: UserDataTemplate, caPublicKey: string, tunnelToken: string, texts?: readonly string[]): string {
  const parts = template.parts;
  let text = texts === undefined ? parts[0] : texts[0];
  for (let i = 1; i < parts.length; i += 2) {
    text += (parts[i] === 'caPublicKey' ? caPublicKey : tunnelToken) + (texts === undefined ? parts[i + 1] : texts[(i + 1) / 2]);
  }
  return text;
}

/** the literal text parts of a template (every other part, from the first). @internal */
export function templateTexts(template: UserDataTemplate): string[] {
  return template.parts.filter((_, i) => i % 2 === 0);
}

/**
 * Throws when the template filled with these values (tokens, and values not known yet
 * (`undefined`), counted at the most they are assumed to resolve to) would exceed DigitalOcean's
 * user_data limit. @internal
 */
export function checkUserDataSize(template: UserDataTemplate, caPublicKey: string | undefined, tunnelToken: string | undefined): void {
  let bytes = template.bytes;
  for (let i = 1; i < template.parts.length; i += 2) {
    const ca = template.parts[i] === 'caPublicKey';
    const value = ca ? caPublicKey : tunnelToken;
    bytes += value === undefined || Token.isUnresolved(value)
      ? TOKEN_SIZE_ALLOWANCE
      : Buffer.byteLength(JSON.stringify(ca ? `${value}\n` : `TUNNEL_TOKEN=${value}\n`), 'utf8');
  }
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `user_data would be about ${bytes} bytes, over DigitalOcean's ${USER_DATA_LIMIT_BYTES}-byte limit; make extraCloudConfig smaller`,
    );
  }
}

/** the checks on the two values that differ from host to host. @internal */
export function checkPerHost(options: { caPublicKey: string; tunnelToken: string }) {
  checkCaPublicKey(options.caPublicKey);
  checkLiteral('tunnelToken', options.tunnelToken, TUNNEL_TOKEN, 'a tunnel token (base64, no spaces or newlines)');
}

/** throws unless a literal CA key is one line of OpenSSH public key (tokens pass). @internal */
export function checkCaPublicKey(caPublicKey: string) {
  checkLiteral('caPublicKey', caPublicKey, SSH_PUBLIC_KEY, 'a one-line OpenSSH public key ("ecdsa-sha2-nistp256 AAAA... comment")');
}

// the per-host values of the cloud-config; every other placeholder depends only on the options.
const PER_HOST = /\{\{(caPublicKey|tunnelEnv)\}\}/;

/**
 * The checks on, and the text from, everything but the CA key and the tunnel token: the
 * cloud-config cut around their placeholders (text, name, text, name, text), its size in bytes
 * without them, and the warnings.
 */
function renderStatic(options: Omit<CloudInitOptions, 'caPublicKey' | 'tunnelToken'>): UserDataTemplate {
  for (const flag of ['allowPortForwarding', 'cloudflaredAutoUpdate', 'restrictMetadataService'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new Error(`${flag} ${JSON.stringify(options[flag])} must be true or false`);
    }
  }
  const aptUrl = options.cloudflaredAptUrl ?? DEFAULT_CLOUDFLARED_APT_URL;
  const keyUrl = options.cloudflaredAptKeyUrl ?? DEFAULT_CLOUDFLARED_APT_KEY_URL;
  const suite = options.cloudflaredAptSuite ?? 'any';
  const component = options.cloudflaredAptComponent ?? 'main';
  checkLiteral('cloudflaredAptUrl', aptUrl, APT_URL, 'an http(s):// or file:// URL without spaces');
  checkLiteral('cloudflaredAptKeyUrl', keyUrl, APT_URL, 'an http(s):// or file:// URL without spaces');
  checkLiteral('cloudflaredAptSuite', suite, APT_WORD, 'an apt suite name');
  checkLiteral('cloudflaredAptComponent', component, APT_WORD, 'an apt component name');

  const f = loadFragments();
  const values: Record<string, string> = {
    sshdDropInName: SSHD_DROP_IN_NAME,
    sshdDropIn: options.allowPortForwarding === true ? f.sshdForwarding : f.sshd,
    cloudflaredUnit: f.unit,
    setupScript: f.setup,
    metadataGuard: options.restrictMetadataService === false ? '' : metadataGuardEntries(f),
    accountsAgent: f.accounts,
    accountsService: f.accountsService,
    accountsTimer: f.accountsTimer,
    cloudflaredUpdate: options.cloudflaredAutoUpdate === false ? '' : cloudflaredUpdateEntries(f),
    setupCommand: JSON.stringify(['/usr/local/lib/cdktf-access-droplet/setup', keyUrl, aptUrl, suite, component]),
  };
  const parts = f.template.split(PER_HOST).map((part, i) => (i % 2 === 1 ? part : part.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`cloud-config template has an unknown placeholder {{${key}}}`);
    return v;
  })));
  const bytes = parts.reduce((sum, part, i) => (i % 2 === 1 ? sum : sum + Buffer.byteLength(part, 'utf8')), 0);
  return { parts, bytes, warnings: optionWarnings(options) };
}
