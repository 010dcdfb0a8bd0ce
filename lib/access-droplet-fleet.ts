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
import { planFleet } from './plan/fleet-plan';
import { ACCESS_APPLICATIONS_PER_ACCOUNT, ACCESS_DOMAINS_PER_APPLICATION, TUNNELS_PER_ACCOUNT } from './plan/limits';
import { renderInfrastructureSshConfig } from './ssh-config';
import { AccessUserInput, UnixNaming } from './users';

/**
 * One host of an {@link AccessDropletFleet}, with its own overrides.
 */
export interface FleetHost {
  /** The hostname users SSH to; it must be inside the fleet's `zoneName`. */
  readonly hostname: string;

  /**
   * The DigitalOcean region of this host.
   *
   * @default - the fleet's `region`
   */
  readonly region?: string;

  /**
   * The droplet size slug of this host.
   *
   * @default - the fleet's `size`
   */
  readonly size?: string;

  /**
   * The droplet image slug of this host.
   *
   * @default - the fleet's `image`
   */
  readonly image?: string;

  /**
   * Users who get an account on this host only, besides the fleet's `users`. Access admits them
   * to this host's Access application; when the host shares one (`accessGroup`), to every host
   * of the group, where sshd refuses them for lack of an account.
   *
   * @default - none
   */
  readonly users?: AccessUserInput[];

  /**
   * Extra DigitalOcean tags on this host's droplet.
   *
   * @default - none
   */
  readonly tags?: string[];

  /**
   * A stable key for hosts that share one Access application (and, in self-hosted mode, one
   * short-lived certificate CA): at most five hosts per key, Cloudflare's limit of domains per
   * application. Use it to stay under Cloudflare's 500 applications per account. The key, not
   * the host's position, decides the group, so adding, removing or reordering other hosts never
   * moves this one. Keys `1`, `2`, ... for the first, second, ... five hosts reproduce a v0.1.0
   * fleet's addresses exactly (see `AccessDropletFleet.v010AccessGroup`).
   *
   * @default - the host has an Access application of its own
   */
  readonly accessGroup?: string;
}

/**
 * Properties of an {@link AccessDropletFleet}. Give either `hosts`, or `count` with
 * `hostnamePattern`.
 */
export interface AccessDropletFleetProps extends AccessPolicyOptions, AccessApplicationOptions, DropletOptions, UnixNaming {
  /** The Cloudflare account that owns the tunnels and Access applications. */
  readonly accountId: string;

  /**
   * The Cloudflare zone that holds every hostname, for the hosts' proxied DNS records.
   * Required in self-hosted mode; infrastructure mode creates no DNS record.
   *
   * @default - none (infrastructure mode only)
   */
  readonly zoneId?: string;

  /**
   * The zone's domain name, e.g. `widgetcorp.tech`; every hostname must end with it. Required in
   * self-hosted mode.
   *
   * @default - none (infrastructure mode only: hostnames are then not checked against a zone)
   */
  readonly zoneName?: string;

  /**
   * A name for the shared resources: the Access policy, the firewall (`${name}-fw`), the droplet tag that applies it (`access-fleet-${name}`) and the Access applications (`${name} <hostname>`, a group's `${name}-<accessGroup>`).
   *
   * It must be unique among the fleets and AccessDroplets of the stack.
   */
  readonly name: string;

  /**
   * The people who get an account on every host and pass Access to every host.
   *
   * As for `AccessDroplet`, the list travels in the droplets' tags: a change reaches every running
   * host within about a minute and replaces no droplet.
   */
  readonly users: AccessUserInput[];

  /**
   * The hosts, each with its own overrides.
   *
   * @default - `count` hosts named by `hostnamePattern`
   */
  readonly hosts?: FleetHost[];

  /**
   * How many hosts to create from `hostnamePattern`.
   *
   * @default - the hosts listed in `hosts`
   */
  readonly count?: number;

  /**
   * The hostname of each counted host: `{index}` is replaced by 1, 2, ... `count`, e.g.
   * `web-{index}.widgetcorp.tech`.
   *
   * @default - the hosts listed in `hosts`
   */
  readonly hostnamePattern?: string;

  /**
   * For counted hosts (`count`): share one Access application between this many consecutive
   * hosts (1 to 5), host `i` in access group `ceil(i / accessGroupSize)`. A counted host keeps its
   * index, so its group never changes when `count` grows or shrinks. `5` reproduces a v0.1.0
   * fleet's addresses exactly. Listed hosts use `FleetHost.accessGroup` instead.
   *
   * @default - each host has an Access application of its own
   */
  readonly accessGroupSize?: number;

  /**
   * How people reach the hosts, as for `AccessDroplet`: `AccessMode.SELF_HOSTED` (public
   * hostnames, short-lived certificates) or `AccessMode.INFRASTRUCTURE` (Access for
   * Infrastructure: per host a target at its private address and a tunnel route, per application
   * one policy per user that allows only that user's Unix name, reached with the WARP client).
   *
   * @default AccessMode.SELF_HOSTED
   */
  readonly mode?: AccessMode;

  /**
   * The account's SSH CA public key, for infrastructure mode (see `AccessDroplet`).
   *
   * @default - none; required in infrastructure mode
   * @see https://developers.cloudflare.com/api/resources/zero_trust/subresources/access/subresources/gateway_ca/
   */
  readonly infrastructureCaPublicKey?: string;

  /**
   * The tunnel virtual network for the routes and the targets, in infrastructure mode.
   *
   * @default - the account's default virtual network
   */
  readonly virtualNetworkId?: string;
}

/** The resources of one host of a fleet. */
export interface FleetHostResources {
  /** The hostname users SSH to (in infrastructure mode, the target's hostname). */
  readonly hostname: string;
  /** The host's droplet. */
  readonly droplet: Droplet;
  /** The host's tunnel. */
  readonly tunnel: ZeroTrustTunnelCloudflared;
  /** The host's tunnel configuration. */
  readonly tunnelConfig: ZeroTrustTunnelCloudflaredConfigA;
  /** The data source that reads the host's tunnel token. */
  readonly tunnelToken: DataCloudflareZeroTrustTunnelCloudflaredToken;
  /** The host's proxied CNAME (self-hosted mode). */
  readonly dnsRecord?: DnsRecord;
  /** The Access application that covers this host (its own, or its access group's). */
  readonly accessApplication: ZeroTrustAccessApplication;
  /** The short-lived certificate CA this host trusts (self-hosted mode; shared like the application). */
  readonly shortLivedCertificate?: ZeroTrustAccessShortLivedCertificate;
  /** The infrastructure target at the host's private address (infrastructure mode). */
  readonly infrastructureTarget?: ZeroTrustAccessInfrastructureTarget;
  /** The tunnel route to the host's private address (infrastructure mode). */
  readonly tunnelRoute?: ZeroTrustTunnelCloudflaredRoute;
  /** The null_resource that waits for this host's tunnel, when `waitForReady` is set. */
  readonly readinessWait?: NullResource;
}

/**
 * Many Access-protected droplets that share what can be shared without tying hosts together:
 * one reusable Access policy (self-hosted mode), one firewall applied by a tag (a firewall names
 * at most 10 droplets, a tag any number), and the common users. Each host keeps its own tunnel,
 * ingress config, DNS record or private route, droplet, and Access application (with, in
 * self-hosted mode, its own short-lived certificate CA), all addressed by its hostname: adding,
 * removing or reordering hosts never touches another host.
 *
 * Cloudflare allows 500 Access applications per account by default: larger fleets put hosts into
 * explicit access groups of up to five (`FleetHost.accessGroup`, or `accessGroupSize` for counted
 * hosts), which share one application and CA.
 */
export class AccessDropletFleet extends Construct {
  /** Cloudflare's limit on public hostnames (destinations) in one Access application. */
  public static readonly ACCESS_DOMAINS_PER_APPLICATION = ACCESS_DOMAINS_PER_APPLICATION;
  /** Cloudflare's default limit on Access applications per account. */
  public static readonly ACCESS_APPLICATIONS_PER_ACCOUNT = ACCESS_APPLICATIONS_PER_ACCOUNT;
  /** Cloudflare's default limit on cloudflared tunnels per account (one per host here). */
  public static readonly TUNNELS_PER_ACCOUNT = TUNNELS_PER_ACCOUNT;

  /**
   * The access group v0.1.0 put the host at this position (0-based) of `hosts` in: v0.1.0
   * grouped hosts five to an application in list order. Set it as each host's `accessGroup` to
   * keep a v0.1.0 fleet's Terraform addresses, applications and CAs exactly as they are.
   */
  public static v010AccessGroup(position: number): string {
    if (!Number.isInteger(position) || position < 0) {
      throw new Error(`position ${JSON.stringify(position)} must be a whole number from 0 (the first host)`);
    }
    return String(Math.floor(position / ACCESS_DOMAINS_PER_APPLICATION) + 1);
  }

  /** How people reach the hosts. */
  public readonly mode: AccessMode;
  /** The reusable Access policy every host's application uses (self-hosted mode). */
  public readonly accessPolicy?: ZeroTrustAccessPolicy;
  /** The Access applications: one per host, or per access group. */
  public readonly accessApplications: ZeroTrustAccessApplication[];
  /** The DigitalOcean tag that marks the fleet's droplets. */
  public readonly tag: Tag;
  /** The firewall (no inbound rule) applied to the fleet tag. */
  public readonly firewall: Firewall;
  /** The hosts' resources, in the order given. */
  public readonly hosts: FleetHostResources[];
  /** The `~/.ssh/config` blocks for every host. */
  public readonly sshConfig: string;
  /**
   * The Zero Trust organization, read for its team name: cloudflared checks Access tokens for
   * that team at the origin (self-hosted mode).
   */
  public readonly organization?: DataCloudflareZeroTrustOrganization;
  /** The Access App Launcher of the account, `https://<team>.cloudflareaccess.com` (self-hosted mode). */
  public readonly accessLauncherUrl?: string;

  constructor(scope: Construct, id: string, props: AccessDropletFleetProps) {
    super(scope, id);
    const plan = planFleet(props);
    const built = buildPlan(this, plan);
    this.mode = plan.mode;
    this.accessPolicy = built.policy;
    this.accessApplications = built.applications;
    this.tag = built.tag;
    this.firewall = built.firewall;
    this.hosts = built.hosts;
    this.organization = built.organization;
    this.accessLauncherUrl = built.organization === undefined ? undefined : `https://${built.organization.authDomain}`;
    this.sshConfig = plan.sshConfig ?? built.hosts.map((h) => renderInfrastructureSshConfig(h.hostname, h.privateAddress as string)).join('\n');
    new TerraformOutput(this, 'Hostnames', literal({ value: plan.hosts.map((h) => h.hostname), description: 'The hostnames to SSH to through Cloudflare Access' }));
    new TerraformOutput(this, 'SshConfig', literal({ value: this.sshConfig, description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>' }));
  }
}
