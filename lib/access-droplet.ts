import { Annotations, TerraformOutput, Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { ZeroTrustTunnelCloudflaredConfigA } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { AccessAllow, resolveIncludeRules } from './access-policy-rules';
import {
  checkTimeout, defineAccessApplication, defineAccessPolicy, defineDroplet, defineReadinessWait, defineTunnel, nameFromHostname, openEgressRules,
} from './internal/parts';
import { renderSshConfig } from './ssh-config';
import { AccessUserInput, resolveUsers } from './users';
import { validateHostname, validateId, validateSlug, validateTag } from './validation';

/**
 * Properties of an {@link AccessDroplet}.
 */
export interface AccessDropletProps {
  /**
   * The Cloudflare account that owns the tunnel and the Access application.
   *
   * @see https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/
   */
  readonly accountId: string;

  /**
   * The Cloudflare zone (domain) that holds `hostname`; its DNS record points at the tunnel.
   *
   * @see https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/
   */
  readonly zoneId: string;

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
   * Who else Access admits (extra emails, whole email domains). They get no Unix account.
   *
   * @default - exactly the users' emails
   */
  readonly allow?: AccessAllow;

  /**
   * A name for the Cloudflare and DigitalOcean resources: the tunnel, the Access application and
   * policy are called `name`, the firewall `${name}-fw`.
   *
   * @default - the hostname with dots replaced by dashes
   */
  readonly name?: string;

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
   * Extra DigitalOcean tags on the droplet.
   *
   * @default - none
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
}

/**
 * A DigitalOcean droplet with no open inbound port, reachable only over SSH through Cloudflare
 * Access with short-lived certificates.
 *
 * It defines the droplet (its cloud-config installs cloudflared, trusts the Access CA and creates
 * one Unix account per user), a firewall with no inbound rule, a remotely-managed Cloudflare
 * Tunnel with its ingress and DNS record, and the Access application, policy and certificate CA.
 * Configure the `cloudflare` and `digitalocean` providers in your stack; this construct creates
 * none.
 */
export class AccessDroplet extends Construct {
  /** The underlying DigitalOcean droplet. */
  public readonly droplet: Droplet;
  /** The underlying DigitalOcean firewall: no inbound rule, open egress. */
  public readonly firewall: Firewall;
  /** The underlying Access self-hosted application for `hostname`. */
  public readonly accessApplication: ZeroTrustAccessApplication;
  /** The underlying reusable Access policy (allow) attached to the application. */
  public readonly accessPolicy: ZeroTrustAccessPolicy;
  /** The underlying short-lived certificate CA of the application. */
  public readonly shortLivedCertificate: ZeroTrustAccessShortLivedCertificate;
  /** The underlying remotely-managed Cloudflare Tunnel. */
  public readonly tunnel: ZeroTrustTunnelCloudflared;
  /** The underlying tunnel configuration (ingress rules). */
  public readonly tunnelConfig: ZeroTrustTunnelCloudflaredConfigA;
  /** The data source that reads the tunnel's token (sensitive). */
  public readonly tunnelToken: DataCloudflareZeroTrustTunnelCloudflaredToken;
  /** The underlying proxied CNAME from `hostname` to the tunnel. */
  public readonly dnsRecord: DnsRecord;
  /** The null_resource that waits for a healthy tunnel, when `waitForReady` is set. */
  public readonly readinessWait?: NullResource;

  /** The hostname users SSH to. */
  public readonly hostname: string;
  /** The droplet's id. */
  public readonly dropletId: string;
  /** The droplet's public IPv4 address (nothing listens on it: the firewall has no inbound rule). */
  public readonly dropletIpv4Address: string;
  /** The tunnel's id. */
  public readonly tunnelId: string;
  /** The Access application's audience tag. */
  public readonly accessApplicationAud: string;
  /** The `~/.ssh/config` block for this host (what `cloudflared access ssh-config --short-lived-cert` prints). */
  public readonly sshConfig: string;

  constructor(scope: Construct, id: string, props: AccessDropletProps) {
    super(scope, id);
    validateId('accountId', props.accountId);
    validateId('zoneId', props.zoneId);
    validateHostname('hostname', props.hostname);
    const users = resolveUsers(props.users);
    const rules = resolveIncludeRules(users.map((u) => u.email), props.allow);
    const region = props.region ?? 'nyc3';
    const size = props.size ?? 's-1vcpu-1gb';
    const image = props.image ?? 'ubuntu-24-04-x64';
    validateSlug('region', region);
    validateSlug('size', size);
    validateSlug('image', image);
    (props.tags ?? []).forEach((t, i) => validateTag(`tags[${i}]`, t));
    const name = props.name ?? nameFromHostname(props.hostname, id);
    if (!Token.isUnresolved(name) && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
      throw new Error(`name ${JSON.stringify(name)} must be 1-63 letters, digits, ".", "-" or "_"`);
    }
    this.hostname = props.hostname;

    if (rules.emailDomains.length > 0) {
      Annotations.of(this).addWarning(
        `Access admits everyone at ${rules.emailDomains.join(', ')}, but only the ${users.length} listed users get a Unix account; the others pass Access and are refused by sshd`,
      );
    }
    if (rules.emailsWithoutAccount.length > 0) {
      Annotations.of(this).addWarning(
        `allow.emails admits ${rules.emailsWithoutAccount.join(', ')} without a Unix account; add them to users to let them log in`,
      );
    }

    // Access: who may reach the hostname, and the CA that signs their short-lived certificates.
    const access = new Construct(this, 'Access');
    this.accessPolicy = defineAccessPolicy(access, 'AccessPolicy', props.accountId, `${name} allow`, rules.emails, rules.emailDomains);
    const app = defineAccessApplication(access, {
      accountId: props.accountId,
      name,
      hostnames: [props.hostname],
      policyIds: [this.accessPolicy.id],
      sessionDuration: props.accessSessionDuration,
    });
    this.accessApplication = app.application;
    this.shortLivedCertificate = app.certificate;

    const tunnel = defineTunnel(new Construct(this, 'Tunnel'), {
      accountId: props.accountId, zoneId: props.zoneId, hostname: props.hostname, name,
    });
    this.tunnel = tunnel.tunnel;
    this.tunnelConfig = tunnel.config;
    this.tunnelToken = tunnel.token;
    this.dnsRecord = tunnel.dnsRecord;

    // droplet and its zero-ingress firewall.
    this.droplet = defineDroplet(this, 'Droplet', {
      hostname: props.hostname,
      settings: { ...props, region, size, image, monitoring: props.monitoring ?? true },
      users: props.users,
      caPublicKey: this.shortLivedCertificate.publicKey,
      tunnelToken: this.tunnelToken.token,
    });
    this.firewall = new Firewall(this, 'Firewall', {
      name: `${name}-fw`,
      dropletIds: [Token.asNumber(this.droplet.id)],
      outboundRule: openEgressRules(),
    });

    if (props.waitForReady === true) {
      this.readinessWait = defineReadinessWait(this, {
        accountId: props.accountId,
        tunnelId: this.tunnel.id,
        dropletId: this.droplet.id,
        hostname: props.hostname,
        timeoutSec: checkTimeout(props.waitForReadyTimeoutSec),
        dependsOn: [this.droplet, this.tunnelConfig, this.dnsRecord, this.firewall],
      });
    } else if (props.waitForReadyTimeoutSec !== undefined) {
      throw new Error(`waitForReadyTimeoutSec is ${props.waitForReadyTimeoutSec} but waitForReady is not set; set waitForReady: true or drop the timeout`);
    }

    this.dropletId = this.droplet.id;
    this.dropletIpv4Address = this.droplet.ipv4Address;
    this.tunnelId = this.tunnel.id;
    this.accessApplicationAud = this.accessApplication.aud;
    this.sshConfig = renderSshConfig([props.hostname], props.clientCloudflaredPath);

    new TerraformOutput(this, 'Hostname', { value: props.hostname, description: 'The hostname to SSH to through Cloudflare Access' });
    new TerraformOutput(this, 'DropletId', { value: this.dropletId, description: 'The DigitalOcean droplet id' });
    new TerraformOutput(this, 'TunnelId', { value: this.tunnelId, description: 'The Cloudflare Tunnel id' });
    new TerraformOutput(this, 'SshConfig', {
      value: this.sshConfig,
      description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>',
    });
  }
}
