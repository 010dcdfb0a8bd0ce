// What the build steps share while they walk one plan: the construct, its scopes by path, and
// what the earlier steps built (by application key and by host position).
import { TerraformAsset } from 'cdktf';
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
import { UserDataTemplate } from '../cloud-init';
import { AccessPlan, ScopePath } from '../plan/types';

/** an application and, self-hosted, the CA that signs its certificates; ids read once. */
export interface BuiltApplication {
  readonly application: ZeroTrustAccessApplication;
  readonly certificate?: ZeroTrustAccessShortLivedCertificate;
  /** `${...aud}` (./references.ts), when cloudflared checks Access tokens at the origin. */
  readonly aud?: string;
}

/** what the steps built for one host. */
export interface BuiltHost {
  readonly hostname: string;
  readonly tunnel: ZeroTrustTunnelCloudflared;
  /** `tunnel.id`, read once: every read makes a token, each with a captured stack trace. */
  readonly tunnelId: string;
  readonly tunnelConfig: ZeroTrustTunnelCloudflaredConfigA;
  readonly tunnelToken: DataCloudflareZeroTrustTunnelCloudflaredToken;
  readonly dnsRecord?: DnsRecord;
  readonly accessApplication: ZeroTrustAccessApplication;
  readonly shortLivedCertificate?: ZeroTrustAccessShortLivedCertificate;
  readonly droplet: Droplet;
  readonly tunnelRoute?: ZeroTrustTunnelCloudflaredRoute;
  readonly infrastructureTarget?: ZeroTrustAccessInfrastructureTarget;
  /** `droplet.ipv4AddressPrivate` where a step read it (infrastructure mode). */
  readonly privateAddress?: string;
  readonly readinessWait?: NullResource;
}

/** everything built from one plan. */
export interface Built {
  /** self-hosted: the organization whose team checks Access tokens at the origin. */
  readonly organization?: DataCloudflareZeroTrustOrganization;
  readonly policy?: ZeroTrustAccessPolicy;
  readonly tag: Tag;
  readonly firewall: Firewall;
  /** every application, in the order defined (shared ones first, then the hosts' own). */
  readonly applications: ZeroTrustAccessApplication[];
  readonly hosts: BuiltHost[];
}

/** the state of one build: scopes by path, and the pieces later steps need. */
export class BuildContext {
  public policy?: ZeroTrustAccessPolicy;
  public policyId?: string;
  public tag?: Tag;
  /** `tag.name`, read once for the firewall and every droplet. */
  public tagName?: string;
  public firewall?: Firewall;
  /** the organization, when cloudflared protects the public hostnames with Access (self-hosted). */
  public organization?: DataCloudflareZeroTrustOrganization;
  /**
   * the team name the ingress rules check Access tokens for, as it goes into their config: given
   * (escaped), or the expression that reads it from the organization.
   */
  public teamName?: string;
  /** the poller of `waitForReady`, when the plan defines it before everything else (a fleet). */
  public readinessScript?: TerraformAsset;
  public readonly applications = new Map<string, BuiltApplication>();
  public readonly applicationList: ZeroTrustAccessApplication[] = [];
  /** per host, in plan order: the application (own or shared) that covers it. */
  public readonly hostApplications: BuiltApplication[] = [];
  /** per user_data template: references to the local that holds its literal text. */
  public readonly userDataTexts = new Map<UserDataTemplate, readonly string[]>();
  /** per host, in plan order, filled step by step. */
  public readonly hosts: Partial<{ -readonly [K in keyof BuiltHost]: BuiltHost[K] }>[];
  private readonly scopes = new Map<string, Construct>();

  constructor(public readonly construct: Construct, public readonly plan: AccessPlan) {
    this.hosts = plan.hosts.map((h) => ({ hostname: h.hostname }));
    this.scopes.set('', construct);
  }

  /** the scope at `path` below the construct, created (with its parents) on first use. */
  public scope(path: ScopePath): Construct {
    const key = path.join('/');
    let found = this.scopes.get(key);
    if (found === undefined) {
      found = new Construct(this.scope(path.slice(0, -1)), path[path.length - 1]);
      this.scopes.set(key, found);
    }
    return found;
  }
}
