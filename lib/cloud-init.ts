import { readFileSync } from 'fs';
import { join } from 'path';
import { Fn, Token } from 'cdktf';
import { AccessUserInput, CertificatePrincipals, resolveUsers, ResolvedUser, UnixNaming, userWarnings } from './users';

// the enum lives with the users, whose checks depend on it; it stays exported from here too.
export { CertificatePrincipals };

const DEFAULT_CLOUDFLARED_APT_URL = 'https://pkg.cloudflare.com/cloudflared';
const DEFAULT_CLOUDFLARED_APT_KEY_URL = 'https://pkg.cloudflare.com/cloudflare-main.gpg';
const USER_DATA_LIMIT_BYTES = 64 * 1024;
const SSHD_DROP_IN_NAME = '10-cloudflare-access.conf';

/** What {@link renderCloudInit} needs. */
export interface CloudInitOptions extends UnixNaming {
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

  /** The people who may log in; one Unix account each. */
  readonly users: AccessUserInput[];

  /**
   * Whether login users (UID 1000 and up) are kept from DigitalOcean's metadata service, which
   * serves the droplet's user_data, tunnel token included, to any local process. Root and system
   * services (DigitalOcean's agents) keep it. Needs nft or iptables on the image (Ubuntu and
   * Debian have them).
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
   * Which principal a certificate must carry to open an account.
   *
   * @default CertificatePrincipals.EMAIL_LOCAL_PART
   */
  readonly certificatePrincipals?: CertificatePrincipals;

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

// static fragments are read once per process, on first use, and kept already indented for
// their YAML block scalars, so a fleet does not redo the same indenting for every host.
let fragments: {
  template: string; sshd: string; sshdForwarding: string; unit: string; setup: string; guard: string; guardUnit: string;
  guardRequires: string; guardRootSlice: string; guardAllow: string; guardNftables: string;
} | undefined;
function loadFragments() {
  if (!fragments) {
    const dir = join(__dirname, '..', 'cloud-init');
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
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
function optionWarnings(options: CloudInitOptions): string[] {
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

function userEntry(u: ResolvedUser): string {
  const lines = [
    `  - name: ${u.unixName}`,
    `    gecos: ${JSON.stringify(u.email)}`,
    '    shell: /bin/bash',
    '    lock_passwd: true',
  ];
  if (u.groups.length > 0) lines.push(`    groups: ${JSON.stringify(u.groups.join(','))}`);
  if (u.sudo) lines.push('    sudo: "ALL=(ALL) NOPASSWD:ALL"');
  return lines.join('\n');
}

function principalsEntry(u: ResolvedUser, principals: CertificatePrincipals): string {
  // a local part's case is the IdP's; accept the lower-case spelling of the same mailbox too.
  const names = principals === CertificatePrincipals.UNIX_NAME
    ? [u.unixName]
    : [...new Set([u.principal, u.principal.toLowerCase()])];
  return [
    `  - path: /etc/ssh/auth_principals/${u.unixName}`,
    '    owner: root:root',
    '    permissions: "0644"',
    `    content: ${JSON.stringify(names.map((n) => `${n}\n`).join(''))}`,
  ].join('\n');
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
   * groups that read logs, `allowPortForwarding`. Throws on the same malformed options as
   * {@link renderCloudInit}.
   */
  public static warnings(options: CloudInitOptions): string[] {
    return renderCloudInitWithWarnings(options).warnings;
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
  // everything but the CA key and the tunnel token is the same for every host of a fleet: render
  // it once and reuse it while the options stay the same (one entry, so nothing builds up).
  // Either way the checks run in the same order, so the same bad input gives the same error.
  const key = staticKey(options);
  if (lastStatic !== undefined && lastStatic.key === key) {
    checkPerHost(options);
  } else {
    lastStatic = { key, ...renderStatic(options) };
  }
  const s = lastStatic;
  const variable = { caPublicKey: quoted(`${options.caPublicKey}\n`), tunnelEnv: quoted(`TUNNEL_TOKEN=${options.tunnelToken}\n`) };
  let text = s.parts[0];
  let bytes = s.bytes;
  for (let i = 1; i < s.parts.length; i += 2) {
    const v = variable[s.parts[i] as keyof typeof variable];
    text += v + s.parts[i + 1];
    bytes += Buffer.byteLength(v, 'utf8');
  }

  const tokens = [options.caPublicKey, options.tunnelToken].filter((v) => Token.isUnresolved(v)).length;
  const estimate = bytes + tokens * TOKEN_SIZE_ALLOWANCE;
  if (estimate > USER_DATA_LIMIT_BYTES) {
    throw new Error(
      `user_data would be about ${estimate} bytes for ${s.users} users, over DigitalOcean's ` +
      `${USER_DATA_LIMIT_BYTES}-byte limit; split the users across droplets or fewer users per host`,
    );
  }
  return { text, warnings: [...s.warnings] };
}

/** the checks on the two values that differ from host to host. */
function checkPerHost(options: CloudInitOptions) {
  checkLiteral('caPublicKey', options.caPublicKey, SSH_PUBLIC_KEY, 'a one-line OpenSSH public key ("ecdsa-sha2-nistp256 AAAA... comment")');
  checkLiteral('tunnelToken', options.tunnelToken, TUNNEL_TOKEN, 'a tunnel token (base64, no spaces or newlines)');
}

// the per-host values of the cloud-config; every other placeholder depends only on staticKey().
const PER_HOST = /\{\{(caPublicKey|tunnelEnv)\}\}/;
let lastStatic: { key: string; parts: string[]; bytes: number; users: number; warnings: string[] } | undefined;

/** the options that decide the static part of the cloud-config, as one comparable string. */
function staticKey(options: CloudInitOptions): string {
  return JSON.stringify([
    options.users, options.unixNames, options.unixNameStyle, options.certificatePrincipals, options.restrictMetadataService,
    options.allowPortForwarding, options.cloudflaredAptUrl, options.cloudflaredAptSuite, options.cloudflaredAptComponent,
    options.cloudflaredAptKeyUrl,
  ]);
}

/**
 * The checks on, and the text from, everything but the CA key and the tunnel token: the
 * cloud-config cut around their placeholders (text, name, text, name, text), its size in bytes
 * without them, and the warnings.
 */
function renderStatic(options: CloudInitOptions): { parts: string[]; bytes: number; users: number; warnings: string[] } {
  const principals = options.certificatePrincipals ?? CertificatePrincipals.EMAIL_LOCAL_PART;
  if (!Object.values(CertificatePrincipals).includes(principals)) {
    throw new Error(`certificatePrincipals ${JSON.stringify(principals)} is not one of ${Object.values(CertificatePrincipals).join(', ')}`);
  }
  // when certificates carry the email's local part, this refuses two people with one principal.
  const users = resolveUsers(options.users, 'users', options, principals);
  if (options.allowPortForwarding !== undefined && typeof options.allowPortForwarding !== 'boolean') {
    throw new Error(`allowPortForwarding ${JSON.stringify(options.allowPortForwarding)} must be true or false`);
  }
  checkPerHost(options);
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
    users: users.map(userEntry).join('\n'),
    sshdDropInName: SSHD_DROP_IN_NAME,
    sshdDropIn: options.allowPortForwarding === true ? f.sshdForwarding : f.sshd,
    principals: users.map((u) => principalsEntry(u, principals)).join('\n'),
    cloudflaredUnit: f.unit,
    setupScript: f.setup,
    metadataGuard: options.restrictMetadataService === false ? '' : metadataGuardEntries(f),
    setupCommand: JSON.stringify(['/usr/local/lib/cdktf-access-droplet/setup', keyUrl, aptUrl, suite, component]),
  };
  const parts = f.template.split(PER_HOST).map((part, i) => (i % 2 === 1 ? part : part.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`cloud-config template has an unknown placeholder {{${key}}}`);
    return v;
  })));
  const bytes = parts.reduce((sum, part, i) => (i % 2 === 1 ? sum : sum + Buffer.byteLength(part, 'utf8')), 0);
  return { parts, bytes, users: users.length, warnings: [...userWarnings(users), ...optionWarnings(options)] };
}
