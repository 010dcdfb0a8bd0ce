import { AccessMode } from './access-mode';
import { Annotations, TerraformOutput, Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessInfrastructureTarget } from '@cdktf/provider-cloudflare/lib/zero-trust-access-infrastructure-target';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { ZeroTrustTunnelCloudflaredConfigA } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config';
import { ZeroTrustTunnelCloudflaredRoute } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-route';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { Tag } from '@cdktf/provider-digitalocean/lib/tag';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { ACCESS_APPLICATION_OPTION_KEYS, AccessApplicationOptions } from './access-application-options';
import { ACCESS_POLICY_OPTION_KEYS, AccessPolicyOptions, resolvePolicyRules } from './access-policy-rules';
import { DROPLET_OPTION_KEYS, DropletOptions } from './droplet-options';
import { defineAccessPolicy, warnAbout } from './internal/access';
import { nameFromHostname, openEgressRules, resolveDropletOptions } from './internal/droplet';
import { HostSpec } from './internal/host';
import { checkInfrastructureProps, resolveAccessMode } from './internal/modes';
import { defineInfrastructureHost } from './internal/infrastructure-host';
import { defineSelfHostedHost } from './internal/self-hosted-host';
import { renderInfrastructureSshConfig, renderSshConfig } from './ssh-config';
import { AccessUserInput, CertificatePrincipals, resolveUsers, UNIX_NAMING_KEYS, UnixNaming } from './users';
import { validateHostname, validateId } from './validation';
import { literal } from './internal/escape';
import { requireNullProvider } from './internal/readiness';
import { claimName } from './internal/unique-names';

// re-exported: AccessMode was defined here up to 0.1.0.
export { AccessMode };

/**
 * Properties of an {@link AccessDroplet}.
 */
export interface AccessDropletProps extends AccessPolicyOptions, AccessApplicationOptions, DropletOptions, UnixNaming {
  /**
   * The Cloudflare account that owns the tunnel and the Access application.
   *
   * @see https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/
   */
  readonly accountId: string;

  /**
   * The Cloudflare zone (domain) that holds `hostname`.
   *
   * Its proxied DNS record points at the tunnel. Required in self-hosted mode; infrastructure
   * mode creates no DNS record.
   *
   * @default - none (infrastructure mode only)
   * @see https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/
   */
  readonly zoneId?: string;

  /**
   * The domain name of the zone behind `zoneId`, e.g. `widgetcorp.tech`. When given, `hostname`
   * must be a name inside it (not the zone apex), so a typo fails at synth instead of at apply.
   *
   * @default - `hostname` is not checked against the zone
   */
  readonly zoneName?: string;

  /**
   * The name users type to reach the droplet, e.g. `droplet.widgetcorp.tech`. It must be inside
   * the zone given by `zoneId`; it becomes the Access application's domain, the tunnel's ingress
   * hostname, a proxied CNAME to the tunnel, and the droplet's name.
   */
  readonly hostname: string;

  /**
   * The people who may log in. Each gets a Unix account (the email's local part, unless
   * `unixName` is given) and is admitted by the Access policy.
   *
   * @example ["srhea@cloudflare.com", { email: "jane.doe@example.com", unixName: "jdoe", sudo: true }]
   */
  readonly users: AccessUserInput[];

  /**
   * Existing reusable Access policies (ids, in order of precedence) to attach instead of defining
   * one. Then `allow` and the `access*` rules must be unset: those policies decide who passes
   * Access. Self-hosted mode only.
   *
   * @default - a new policy admitting the users (and `allow`)
   */
  readonly accessPolicyIds?: string[];

  /**
   * The Access application's name, as shown in the App Launcher and the dashboard.
   *
   * @default - `name`
   */
  readonly accessAppName?: string;

  /**
   * Access tags on the application (they must exist: create them with
   * `ZeroTrustAccessTag` or in the dashboard).
   *
   * @default - none
   */
  readonly accessTags?: string[];

  /**
   * The identity providers (ids) people may sign in with for this application.
   *
   * @default - every identity provider of the account
   */
  readonly accessAllowedIdps?: string[];

  /**
   * Skip the identity-provider choice and go straight to the only one in `accessAllowedIdps`.
   *
   * @default false
   */
  readonly accessAutoRedirectToIdentity?: boolean;

  /**
   * How people reach the droplet.
   *
   * `AccessMode.SELF_HOSTED`: a self-hosted Access application on `hostname` with short-lived
   * certificates, reached with `cloudflared access ssh` (Cloudflare now calls these certificates
   * legacy). `AccessMode.INFRASTRUCTURE`: Access for Infrastructure: an infrastructure target at
   * the droplet's private address, routed through the tunnel, an infrastructure application
   * with one policy per user that allows exactly that user's Unix name, reached with the WARP
   * client.
   *
   * @default AccessMode.SELF_HOSTED
   */
  readonly mode?: AccessMode;

  /**
   * The account's SSH CA public key, for infrastructure mode (Terraform cannot read it in
   * provider 5.14): `POST /accounts/{account_id}/access/gateway_ca` creates it once per account,
   * `GET` on the same path lists it.
   *
   * @default - none; required in infrastructure mode
   * @see https://developers.cloudflare.com/api/resources/zero_trust/subresources/access/subresources/gateway_ca/
   */
  readonly infrastructureCaPublicKey?: string;

  /**
   * The tunnel virtual network for the route and the target, in infrastructure mode.
   *
   * @default - the account's default virtual network
   */
  readonly virtualNetworkId?: string;

  /**
   * A name for the Cloudflare and DigitalOcean resources: the tunnel, the Access application and
   * policy are called `name`, the firewall `${name}-fw`.
   *
   * @default - the hostname with dots replaced by dashes
   */
  readonly name?: string;
}

/**
 * A DigitalOcean droplet with no open inbound port, reachable only over SSH through Cloudflare
 * Access.
 *
 * It defines the droplet (its cloud-config installs cloudflared, trusts the Access CA and creates
 * one Unix account per user), a firewall with no inbound rule, a remotely-managed Cloudflare
 * Tunnel, and the Access application and policy: in self-hosted mode (the default) a public
 * hostname with short-lived certificates, in infrastructure mode an Access for Infrastructure
 * target behind a private route. Configure the `cloudflare` and `digitalocean` providers (and
 * `null` for `waitForReady`) in your stack; this construct creates none.
 */
export class AccessDroplet extends Construct {
  /** The underlying DigitalOcean droplet. */
  public readonly droplet: Droplet;
  /** The underlying DigitalOcean firewall: no inbound rule, open egress, applied by `tag`. */
  public readonly firewall: Firewall;
  /**
   * The DigitalOcean tag the droplet is created with and the firewall applies to, so the firewall
   * covers the droplet from its first boot (a firewall by droplet id applies only once it exists).
   */
  public readonly tag: Tag;
  /** The underlying Access application (self-hosted, or infrastructure). */
  public readonly accessApplication: ZeroTrustAccessApplication;
  /** The underlying reusable Access policy, when this construct defines one (self-hosted mode without `accessPolicyIds`). */
  public readonly accessPolicy?: ZeroTrustAccessPolicy;
  /** The underlying short-lived certificate CA of the application (self-hosted mode). */
  public readonly shortLivedCertificate?: ZeroTrustAccessShortLivedCertificate;
  /** The underlying remotely-managed Cloudflare Tunnel. */
  public readonly tunnel: ZeroTrustTunnelCloudflared;
  /** The underlying tunnel configuration (ingress rules). */
  public readonly tunnelConfig: ZeroTrustTunnelCloudflaredConfigA;
  /** The data source that reads the tunnel's token (sensitive). */
  public readonly tunnelToken: DataCloudflareZeroTrustTunnelCloudflaredToken;
  /** The underlying proxied CNAME from `hostname` to the tunnel (self-hosted mode). */
  public readonly dnsRecord?: DnsRecord;
  /** The underlying infrastructure target at the droplet's private address (infrastructure mode). */
  public readonly infrastructureTarget?: ZeroTrustAccessInfrastructureTarget;
  /** The underlying tunnel route to the droplet's private address (infrastructure mode). */
  public readonly tunnelRoute?: ZeroTrustTunnelCloudflaredRoute;
  /** The null_resource that waits for a healthy tunnel, when `waitForReady` is set. */
  public readonly readinessWait?: NullResource;

  /** How people reach the droplet. */
  public readonly mode: AccessMode;
  /** The hostname users SSH to (in infrastructure mode, the target's hostname). */
  public readonly hostname: string;
  /** The droplet's id. */
  public readonly dropletId: string;
  /** The droplet's public IPv4 address (nothing listens on it: the firewall has no inbound rule). */
  public readonly dropletIpv4Address: string;
  /** The droplet's private (VPC) IPv4 address. */
  public readonly dropletIpv4AddressPrivate: string;
  /** The tunnel's id. */
  public readonly tunnelId: string;
  /** The Access application's audience tag. */
  public readonly accessApplicationAud: string;
  /**
   * The `~/.ssh/config` block for this host: in self-hosted mode what
   * `cloudflared access ssh-config --short-lived-cert` prints; in infrastructure mode a `Host`
   * entry for the private address, reached through WARP.
   */
  public readonly sshConfig: string;

  constructor(scope: Construct, id: string, props: AccessDropletProps) {
    super(scope, id);
    for (const key of Object.keys(props ?? {})) {
      if (!(key in DROPLET_PROPS)) {
        throw new Error(`${key} is not a prop of AccessDroplet and would be ignored; remove it (props: ${Object.keys(DROPLET_PROPS).join(', ')})`);
      }
    }
    const mode = resolveAccessMode(props.mode);
    const infrastructure = mode === AccessMode.INFRASTRUCTURE;
    this.mode = mode;
    validateId('accountId', props.accountId);
    if (!infrastructure) validateId('zoneId', props.zoneId);
    validateHostname('hostname', props.hostname);
    checkInZone(props.hostname, props.zoneName);
    const users = resolveUsers(props.users, 'users', props, infrastructure ? CertificatePrincipals.UNIX_NAME : CertificatePrincipals.EMAIL_LOCAL_PART);
    const settings = resolveDropletOptions(props);
    const name = props.name ?? nameFromHostname(props.hostname, id);
    if (!Token.isUnresolved(name) && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      throw new Error(`name ${JSON.stringify(name)} must be 1-63 letters, digits, ".", "-" or "_"`);
    }
    const appOptions = checkApplicationOptions(props, infrastructure);
    this.hostname = props.hostname;
    const path = this.node.path;
    claimName(this, 'hostname', props.hostname, path, 'a hostname can belong to one AccessDroplet or fleet host only');
    claimName(this, 'tunnel name', name, path, 'give each AccessDroplet its own name (it also names the firewall)');
    claimName(this, 'firewall name', `${name}-fw`, path, 'give each AccessDroplet and fleet its own name');

    const access = new Construct(this, 'Access');
    // the droplet's zero-ingress firewall, joined by a tag the droplet is created with: a
    // firewall by droplet id applies only after the droplet exists, leaving a window with port
    // 22 open to the internet.
    this.tag = new Tag(this, 'Tag', literal({ name: `access-droplet-${tagSafe(name)}` }));
    const tagName = this.tag.name;
    this.firewall = new Firewall(this, 'Firewall', literal({
      name: `${name}-fw`,
      tags: [tagName],
      outboundRule: openEgressRules(),
    }));
    if (settings.readinessTimeoutSec !== undefined) requireNullProvider(this);
    const host: HostSpec = {
      accountId: props.accountId,
      hostname: props.hostname,
      name,
      settings: { ...settings, tags: [tagName, ...(settings.tags ?? [])] },
      users: props.users,
      naming: props,
      accessScope: access,
      readiness: settings.readinessTimeoutSec === undefined ? undefined : { timeoutSec: settings.readinessTimeoutSec, dependsOn: [this.firewall] },
    };
    // the application options both modes take alike.
    const application = {
      accountId: props.accountId,
      name: appOptions.name ?? name,
      allowedIdps: appOptions.allowedIdps,
      autoRedirectToIdentity: appOptions.autoRedirectToIdentity,
      tags: appOptions.tags,
    };

    let built: ReturnType<typeof defineInfrastructureHost> | ReturnType<typeof defineSelfHostedHost>;
    if (infrastructure) {
      checkInfrastructureProps(props, 'hostname');
      const rules = resolvePolicyRules([], { accessRequire: props.accessRequire, accessExclude: props.accessExclude });
      warnAbout(this, rules);
      const infra = defineInfrastructureHost(this, {
        ...host,
        caPublicKey: props.infrastructureCaPublicKey as string,
        virtualNetworkId: props.virtualNetworkId,
        application: { own: { ...application, policyName: name, users, require: rules.require, exclude: rules.exclude } },
      });
      this.tunnelRoute = infra.tunnelRoute;
      this.infrastructureTarget = infra.infrastructureTarget;
      built = infra;
    } else {
      if (props.infrastructureCaPublicKey !== undefined || props.virtualNetworkId !== undefined) {
        throw new Error('infrastructureCaPublicKey and virtualNetworkId apply to infrastructure mode only; set mode: AccessMode.INFRASTRUCTURE or drop them');
      }
      let policyIds: string[];
      if (props.accessPolicyIds !== undefined) {
        policyIds = checkPolicyIds(props);
        Annotations.of(this).addWarning(
          `Access admits whoever the ${policyIds.length} existing policies allow; only the ${users.length} listed users get Unix accounts`,
        );
      } else {
        const rules = resolvePolicyRules(users.map((u) => u.email), props);
        warnAbout(this, rules);
        this.accessPolicy = defineAccessPolicy(access, 'AccessPolicy', props.accountId, `${name} allow`, rules);
        policyIds = [this.accessPolicy.id];
      }
      const selfHosted = defineSelfHostedHost(this, {
        ...host,
        zoneId: props.zoneId as string,
        application: {
          own: { ...application, policyIds, sessionDuration: props.accessSessionDuration, caVersion: props.accessCaVersion },
        },
      });
      this.dnsRecord = selfHosted.dnsRecord;
      this.shortLivedCertificate = selfHosted.shortLivedCertificate;
      built = selfHosted;
    }
    // what both modes build.
    this.tunnel = built.tunnel;
    this.tunnelConfig = built.tunnelConfig;
    this.tunnelToken = built.tunnelToken;
    this.accessApplication = built.accessApplication;
    this.droplet = built.droplet;
    this.readinessWait = built.readinessWait;

    this.dropletId = this.droplet.id;
    this.dropletIpv4Address = this.droplet.ipv4Address;
    this.dropletIpv4AddressPrivate = this.droplet.ipv4AddressPrivate;
    this.tunnelId = this.tunnel.id;
    this.accessApplicationAud = this.accessApplication.aud;
    this.sshConfig = infrastructure
      ? renderInfrastructureSshConfig(props.hostname, this.dropletIpv4AddressPrivate)
      : renderSshConfig([props.hostname], props.clientCloudflaredPath);

    new TerraformOutput(this, 'Hostname', literal({ value: props.hostname, description: 'The hostname to SSH to through Cloudflare Access' }));
    new TerraformOutput(this, 'DropletId', literal({ value: this.dropletId, description: 'The DigitalOcean droplet id' }));
    new TerraformOutput(this, 'TunnelId', literal({ value: this.tunnelId, description: 'The Cloudflare Tunnel id' }));
    new TerraformOutput(this, 'SshConfig', literal({
      value: this.sshConfig,
      description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>',
    }));
  }
}

// every prop the construct reads: the compiler keeps this in step with the interface, and an
// unknown key (a typo, or a fleet prop such as `count`) is refused rather than ignored.
const DROPLET_PROPS: Record<keyof AccessDropletProps, true> = {
  accountId: true, zoneId: true, zoneName: true, hostname: true, users: true, accessPolicyIds: true, accessAppName: true,
  accessTags: true, accessAllowedIdps: true, accessAutoRedirectToIdentity: true, mode: true, infrastructureCaPublicKey: true,
  virtualNetworkId: true, name: true,
  ...ACCESS_POLICY_OPTION_KEYS, ...ACCESS_APPLICATION_OPTION_KEYS, ...DROPLET_OPTION_KEYS, ...UNIX_NAMING_KEYS,
};

/** refuses a hostname outside `zoneName` or equal to it (the apex cannot be the droplet's own name). */
function checkInZone(hostname: string, zoneName: string | undefined) {
  if (zoneName === undefined) return;
  validateHostname('zoneName', zoneName);
  if (Token.isUnresolved(hostname) || Token.isUnresolved(zoneName)) return;
  if (hostname === zoneName) {
    throw new Error(`hostname "${hostname}" is the apex of zone "${zoneName}"; pass a name inside it, e.g. "ssh.${zoneName}"`);
  }
  if (!hostname.endsWith(`.${zoneName}`)) {
    throw new Error(`hostname "${hostname}" is not in zone "${zoneName}"; pass a name that ends with ".${zoneName}"`);
  }
}

/** a name as DigitalOcean tags spell it: the dots of a hostname-derived name become dashes. */
function tagSafe(name: string): string {
  return Token.isUnresolved(name) ? name : name.replace(/\./g, '-');
}

function checkPolicyIds(props: AccessDropletProps): string[] {
  const ids = props.accessPolicyIds ?? [];
  if (ids.length === 0) {
    throw new Error('accessPolicyIds is empty; omit it to define a policy for the users, or pass existing policy ids');
  }
  ids.forEach((id, i) => validateId(`accessPolicyIds[${i}]`, id));
  for (const field of ['allow', 'accessInclude', 'accessRequire', 'accessExclude', 'dangerouslyAllowEveryone'] as const) {
    if (props[field] !== undefined) {
      throw new Error(`${field} cannot be combined with accessPolicyIds: the existing policies decide who passes Access; drop one of them`);
    }
  }
  return ids;
}

function checkApplicationOptions(props: AccessDropletProps, infrastructure: boolean) {
  const idps = props.accessAllowedIdps;
  idps?.forEach((idp, i) => validateId(`accessAllowedIdps[${i}]`, idp));
  if (props.accessAutoRedirectToIdentity === true && (idps === undefined || idps.length !== 1)) {
    throw new Error(
      `accessAutoRedirectToIdentity needs exactly one identity provider in accessAllowedIdps, got ${idps === undefined ? 'none' : idps.length}`,
    );
  }
  if (infrastructure && props.accessSessionDuration !== undefined) {
    throw new Error('accessSessionDuration is not supported for infrastructure applications; drop it in infrastructure mode');
  }
  if (props.accessSessionDuration !== undefined && !Token.isUnresolved(props.accessSessionDuration) &&
      !/^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/.test(props.accessSessionDuration)) {
    throw new Error(`accessSessionDuration ${JSON.stringify(props.accessSessionDuration)} is not a duration such as "24h" or "2h45m"`);
  }
  const tags = props.accessTags;
  tags?.forEach((t, i) => {
    if (typeof t !== 'string' || t.trim() === '') throw new Error(`accessTags[${i}] ${JSON.stringify(t)} must be a tag name`);
  });
  if (props.accessAppName !== undefined && (typeof props.accessAppName !== 'string' || props.accessAppName.trim() === '')) {
    throw new Error(`accessAppName ${JSON.stringify(props.accessAppName)} must be a non-empty name`);
  }
  return {
    name: props.accessAppName,
    allowedIdps: idps,
    autoRedirectToIdentity: props.accessAutoRedirectToIdentity,
    tags: tags && tags.length > 0 ? tags : undefined,
  };
}
