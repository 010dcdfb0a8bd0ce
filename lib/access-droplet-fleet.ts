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
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { Tag } from '@cdktf/provider-digitalocean/lib/tag';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { AccessPolicyOptions, DropletOptions, resolvePolicyRules } from './access-policy-rules';
import { AccessRule } from './access-rule';
import {
  defineAccessApplication, defineDnsRecord, warnAbout, defineAccessPolicy, defineDroplet, defineReadinessScript, defineReadinessWait, defineTunnel, nameFromHostname, openEgressRules, resolveDropletOptions,
} from './internal/parts';
import { renderSshConfig } from './ssh-config';
import { AccessUserInput, checkPrincipalCollisions, resolveUsers, UnixNaming } from './users';
import { validateHostname, validateId, validateImage, validateRegion, validateSlug, validateTag } from './validation';

const ACCESS_DOMAINS_PER_APPLICATION = 5;
const TUNNELS_PER_ACCOUNT = 1000;

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
   * to every host that shares this host's Access application (up to five hosts), where sshd
   * refuses them for lack of an account.
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
}

/**
 * Properties of an {@link AccessDropletFleet}. Give either `hosts`, or `count` with
 * `hostnamePattern`.
 */
export interface AccessDropletFleetProps extends AccessPolicyOptions, DropletOptions, UnixNaming {
  /** The Cloudflare account that owns the tunnels and Access applications. */
  readonly accountId: string;

  /** The Cloudflare zone that holds every hostname. */
  readonly zoneId: string;

  /**
   * The zone's domain name, e.g. `widgetcorp.tech`; every hostname must end with it.
   */
  readonly zoneName: string;

  /**
   * A name for the shared resources: the Access policy, applications (`${name}-1`, ...), the
   * firewall (`${name}-fw`) and the droplet tag that applies the firewall.
   */
  readonly name: string;

  /** The people who get an account on every host and pass Access to every host. */
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
}

/** The resources of one host of a fleet. */
export interface FleetHostResources {
  /** The hostname users SSH to. */
  readonly hostname: string;
  /** The host's droplet. */
  readonly droplet: Droplet;
  /** The host's tunnel. */
  readonly tunnel: ZeroTrustTunnelCloudflared;
  /** The host's tunnel configuration. */
  readonly tunnelConfig: ZeroTrustTunnelCloudflaredConfigA;
  /** The data source that reads the host's tunnel token. */
  readonly tunnelToken: DataCloudflareZeroTrustTunnelCloudflaredToken;
  /** The host's proxied CNAME. */
  readonly dnsRecord: DnsRecord;
  /** The Access application that covers this host (shared with up to four others). */
  readonly accessApplication: ZeroTrustAccessApplication;
  /** The short-lived certificate CA this host trusts (shared like the application). */
  readonly shortLivedCertificate: ZeroTrustAccessShortLivedCertificate;
  /** The null_resource that waits for this host's tunnel, when `waitForReady` is set. */
  readonly readinessWait?: NullResource;
}

interface PlannedHost {
  readonly index: number;
  readonly hostname: string;
  readonly spec: FleetHost;
}

/**
 * Many Access-protected droplets that share what Cloudflare and DigitalOcean let them share:
 * one reusable Access policy, one Access application and short-lived certificate CA per five
 * hostnames (Cloudflare's limit of domains per application), one firewall applied by a tag
 * (a firewall names at most 10 droplets, a tag any number), and the common users. Each host keeps
 * its own tunnel, ingress config, DNS record and droplet.
 *
 * Hosts are grouped into Access applications in the order given: append new hosts at the end,
 * because moving a host to another application changes its CA key, and DigitalOcean replaces a
 * droplet whose user_data changes.
 */
export class AccessDropletFleet extends Construct {
  /** Cloudflare's limit on public hostnames (destinations) in one Access application. */
  public static readonly ACCESS_DOMAINS_PER_APPLICATION = ACCESS_DOMAINS_PER_APPLICATION;
  /** Cloudflare's default limit on cloudflared tunnels per account (one per host here). */
  public static readonly TUNNELS_PER_ACCOUNT = TUNNELS_PER_ACCOUNT;

  /** The reusable Access policy every host's application uses. */
  public readonly accessPolicy: ZeroTrustAccessPolicy;
  /** The Access applications, one per five hosts. */
  public readonly accessApplications: ZeroTrustAccessApplication[];
  /** The DigitalOcean tag that marks the fleet's droplets. */
  public readonly tag: Tag;
  /** The firewall (no inbound rule) applied to the fleet tag. */
  public readonly firewall: Firewall;
  /** The hosts' resources, in the order given. */
  public readonly hosts: FleetHostResources[];
  /** The `~/.ssh/config` blocks for every host. */
  public readonly sshConfig: string;

  constructor(scope: Construct, id: string, props: AccessDropletFleetProps) {
    super(scope, id);
    validateId('accountId', props.accountId);
    validateId('zoneId', props.zoneId);
    validateHostname('zoneName', props.zoneName);
    if (typeof props.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(props.name)) {
      throw new Error(`name ${JSON.stringify(props.name)} must be 1-63 lower-case letters, digits or "-" (it names the fleet tag and firewall)`);
    }
    const commonUsers = resolveUsers(props.users, 'users', props);
    const rules = resolvePolicyRules(commonUsers.map((u) => u.email), props);
    warnAbout(this, rules);
    const admitted = rules.include.filter((r) => r.kind === 'email').map((r) => String(r.toProvider().email.email).toLowerCase());
    const settings = resolveDropletOptions(props);

    const planned = planHosts(props);
    const timeoutSec = settings.readinessTimeoutSec;
    const readinessScript = timeoutSec === undefined ? undefined : defineReadinessScript(this);
    if (planned.length > TUNNELS_PER_ACCOUNT) {
      Annotations.of(this).addWarning(
        `the fleet has ${planned.length} hosts, one tunnel each, over Cloudflare's default of ${TUNNELS_PER_ACCOUNT} tunnels per account; ask Cloudflare to raise it`,
      );
    }

    const access = new Construct(this, 'Access');
    this.accessPolicy = defineAccessPolicy(access, 'AccessPolicy', props.accountId, `${props.name} allow`, rules);

    this.tag = new Tag(this, 'Tag', { name: `access-fleet-${props.name}` });
    // read these attributes once, outside the loops: every read creates a new token, each with a
    // captured stack trace, and a fleet would otherwise make one per host.
    const tagName = this.tag.name;
    const policyId = this.accessPolicy.id;
    this.firewall = new Firewall(this, 'Firewall', {
      name: `${props.name}-fw`,
      tags: [tagName],
      outboundRule: openEgressRules(),
    });

    const hostsScope = new Construct(this, 'Hosts');
    this.accessApplications = [];
    this.hosts = [];
    for (let start = 0; start < planned.length; start += ACCESS_DOMAINS_PER_APPLICATION) {
      const group = planned.slice(start, start + ACCESS_DOMAINS_PER_APPLICATION);
      const number = start / ACCESS_DOMAINS_PER_APPLICATION + 1;
      const appScope = new Construct(access, `App${number}`);
      // everyone admitted to these hosts gets certificates from one CA: one principal, one person
      // (the common users alone were checked above).
      if (group.some((h) => h.spec.users !== undefined)) {
        checkPrincipalCollisions(
          group.flatMap((h) => resolveUsers([...props.users, ...(h.spec.users ?? [])], `hosts[${h.index}] (${h.hostname}) users`, props)),
          `the hosts of Access application ${props.name}-${number}`,
        );
      }
      // extra users of a host pass Access for the hosts of its application only.
      const extraEmails = unique(group.flatMap((h) => (h.spec.users ?? []).map((u) => (typeof u === 'string' ? u : u.email))))
        .filter((e) => !admitted.includes(e.toLowerCase()));
      const policyIds = [policyId];
      if (extraEmails.length > 0) {
        const hostUsers = { include: extraEmails.map((e) => AccessRule.email(e)), require: rules.require, exclude: rules.exclude, warnings: [] };
        policyIds.push(defineAccessPolicy(appScope, 'HostUsersPolicy', props.accountId, `${props.name}-${number} host users`, hostUsers).id);
      }
      const app = defineAccessApplication(appScope, {
        accountId: props.accountId,
        name: `${props.name}-${number}`,
        hostnames: group.map((h) => h.hostname),
        policyIds,
        sessionDuration: props.accessSessionDuration,
        caVersion: props.accessCaVersion, // day2 hook (issue 11).
      });
      this.accessApplications.push(app.application);
      const caPublicKey = app.certificate.publicKey;

      for (const host of group) {
        const hostId = nameFromHostname(host.hostname, `Host${host.index + 1}`);
        const hostScope = new Construct(hostsScope, hostId);
        const tunnel = defineTunnel(new Construct(hostScope, 'Tunnel'), {
          accountId: props.accountId, hostname: host.hostname, name: hostId,
        });
        const tunnelId = tunnel.tunnelId;
        const dnsRecord = defineDnsRecord(tunnel.scope, { zoneId: props.zoneId, hostname: host.hostname, name: hostId, tunnelId });
        const spec = host.spec;
        const droplet = defineDroplet(hostScope, 'Droplet', {
          hostname: host.hostname,
          settings: {
            ...settings,
            region: spec.region ?? settings.region,
            size: spec.size ?? settings.size,
            image: spec.image ?? settings.image,
            tags: [tagName, ...(props.tags ?? []), ...(spec.tags ?? [])],
          },
          users: [...props.users, ...(spec.users ?? [])],
          naming: props,
          caPublicKey,
          tunnelToken: tunnel.token.token,
        });
        const readinessWait = timeoutSec === undefined ? undefined : defineReadinessWait(hostScope, {
          accountId: props.accountId,
          tunnelId,
          dropletId: droplet.id,
          hostname: host.hostname,
          timeoutSec,
          dependsOn: [droplet, tunnel.config, dnsRecord, this.firewall],
        }, readinessScript);
        this.hosts.push({
          readinessWait,
          hostname: host.hostname,
          droplet,
          tunnel: tunnel.tunnel,
          tunnelConfig: tunnel.config,
          tunnelToken: tunnel.token,
          dnsRecord,
          accessApplication: app.application,
          shortLivedCertificate: app.certificate,
        });
      }
    }

    this.sshConfig = renderSshConfig(planned.map((h) => h.hostname), props.clientCloudflaredPath);
    new TerraformOutput(this, 'Hostnames', { value: planned.map((h) => h.hostname), description: 'The hostnames to SSH to through Cloudflare Access' });
    new TerraformOutput(this, 'SshConfig', { value: this.sshConfig, description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>' });
  }
}

function unique(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => !seen.has(v.toLowerCase()) && seen.add(v.toLowerCase()));
}

/** the hosts, from the list or the count and pattern, checked: non-empty, in the zone, unique. */
function planHosts(props: AccessDropletFleetProps): PlannedHost[] {
  const counted = props.count !== undefined || props.hostnamePattern !== undefined;
  if (props.hosts !== undefined && counted) {
    throw new Error('give either hosts, or count with hostnamePattern, not both');
  }
  let specs: FleetHost[];
  let field: (i: number) => string;
  if (counted) {
    const count = props.count;
    const pattern = props.hostnamePattern;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      throw new Error(`count ${JSON.stringify(count)} must be a whole number of hosts, at least 1`);
    }
    if (typeof pattern !== 'string' || !pattern.includes('{index}')) {
      throw new Error(`hostnamePattern ${JSON.stringify(pattern)} must contain "{index}", e.g. "web-{index}.${props.zoneName}"`);
    }
    specs = Array.from({ length: count }, (_, i) => ({ hostname: pattern.split('{index}').join(String(i + 1)) }));
    field = (i) => `hostnamePattern (host ${i + 1})`;
  } else {
    specs = props.hosts ?? [];
    field = (i) => `hosts[${i}].hostname`;
  }
  if (specs.length === 0) {
    throw new Error('the fleet is empty; pass hosts: [{ hostname }], or count with hostnamePattern');
  }
  const seen = new Map<string, number>();
  const zone = props.zoneName;
  return specs.map((spec, i) => {
    const hostname = spec.hostname;
    validateHostname(field(i), hostname);
    if (!Token.isUnresolved(hostname) && !Token.isUnresolved(zone) && !hostname.endsWith(`.${zone}`)) {
      throw new Error(`${field(i)} "${hostname}" is not in zone "${zone}"; pass a name that ends with ".${zone}"`);
    }
    const before = seen.get(hostname);
    if (before !== undefined) {
      throw new Error(`${field(i)} "${hostname}" is listed twice (also host ${before + 1}); hostnames must be unique`);
    }
    seen.set(hostname, i);
    if (spec.region !== undefined) validateRegion(`hosts[${i}].region`, spec.region);
    if (spec.size !== undefined) validateSlug(`hosts[${i}].size`, spec.size);
    if (spec.image !== undefined) validateImage(`hosts[${i}].image`, spec.image);
    (spec.tags ?? []).forEach((t, j) => validateTag(`hosts[${i}].tags[${j}]`, t));
    if (spec.users !== undefined) {
      // the common users and this host's own, together, must still map to distinct accounts.
      resolveUsers([...props.users, ...spec.users], `hosts[${i}] (${hostname}) users`, props);
    }
    return { index: i, hostname, spec };
  });
}
