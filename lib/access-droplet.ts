import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { DataCloudflareZeroTrustOrganization } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-organization';
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
import { AccessApplicationOptions } from './access-application-options';
import { AccessMode } from './access-mode';
import { AccessPolicyOptions } from './access-policy-rules';
import { buildPlan } from './build/build';
import { DropletOptions } from './droplet-options';
import { literal } from './internal/escape';
import { planAccessDroplet } from './plan/access-droplet-plan';
import { renderInfrastructureSshConfig } from './ssh-config';
import { AccessUserInput, UnixNaming } from './users';

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
   * The list travels in the droplet's tags, not its user_data: adding, removing or changing a
   * person changes the running droplet within about a minute, without replacing it. Removing a
   * person locks their account at once (their certificate stops working, their sessions end,
   * sudo goes) and keeps their home directory.
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
  /**
   * The Zero Trust organization, read for its team name: cloudflared checks Access tokens for
   * that team at the origin (self-hosted mode).
   */
  public readonly organization?: DataCloudflareZeroTrustOrganization;

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
  /** The Access App Launcher of the account, `https://<team>.cloudflareaccess.com` (self-hosted mode). */
  public readonly accessLauncherUrl?: string;
  /** Where people open the SSH terminal in their browser, `https://<hostname>`, when `browserSsh` is set. */
  public readonly browserSshUrl?: string;
  /**
   * The `~/.ssh/config` block for this host: in self-hosted mode what
   * `cloudflared access ssh-config --short-lived-cert` prints; in infrastructure mode a `Host`
   * entry for the private address, reached through WARP.
   */
  public readonly sshConfig: string;

  constructor(scope: Construct, id: string, props: AccessDropletProps) {
    super(scope, id);
    const plan = planAccessDroplet(props, id);
    const built = buildPlan(this, plan);
    const host = built.hosts[0];
    this.mode = plan.mode;
    this.hostname = props.hostname;
    this.tag = built.tag;
    this.firewall = built.firewall;
    this.accessPolicy = built.policy;
    this.accessApplication = host.accessApplication;
    this.shortLivedCertificate = host.shortLivedCertificate;
    this.tunnel = host.tunnel;
    this.tunnelConfig = host.tunnelConfig;
    this.tunnelToken = host.tunnelToken;
    this.dnsRecord = host.dnsRecord;
    this.tunnelRoute = host.tunnelRoute;
    this.infrastructureTarget = host.infrastructureTarget;
    this.droplet = host.droplet;
    this.readinessWait = host.readinessWait;
    this.organization = built.organization;

    this.dropletId = this.droplet.id;
    this.dropletIpv4Address = this.droplet.ipv4Address;
    this.dropletIpv4AddressPrivate = host.privateAddress ?? this.droplet.ipv4AddressPrivate;
    this.tunnelId = host.tunnelId;
    this.accessApplicationAud = this.accessApplication.aud;
    this.sshConfig = plan.sshConfig ?? renderInfrastructureSshConfig(props.hostname, this.dropletIpv4AddressPrivate);
    this.accessLauncherUrl = built.organization === undefined ? undefined : `https://${built.organization.authDomain}`;
    this.browserSshUrl = props.browserSsh === true ? `https://${props.hostname}` : undefined;

    new TerraformOutput(this, 'Hostname', literal({ value: props.hostname, description: 'The hostname to SSH to through Cloudflare Access' }));
    new TerraformOutput(this, 'DropletId', literal({ value: this.dropletId, description: 'The DigitalOcean droplet id' }));
    new TerraformOutput(this, 'TunnelId', literal({ value: this.tunnelId, description: 'The Cloudflare Tunnel id' }));
    new TerraformOutput(this, 'SshConfig', literal({
      value: this.sshConfig,
      description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>',
    }));
    if (this.browserSshUrl !== undefined) {
      new TerraformOutput(this, 'BrowserSshUrl', literal({ value: this.browserSshUrl, description: 'Open this in a browser for an SSH terminal (sign in with Cloudflare Access)' }));
    }
  }
}
