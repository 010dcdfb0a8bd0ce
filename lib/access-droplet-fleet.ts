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
import { AccessMode } from './access-mode';
import { ACCESS_APPLICATION_OPTION_KEYS, AccessApplicationOptions } from './access-application-options';
import { ACCESS_POLICY_OPTION_KEYS, AccessPolicyOptions, ResolvedPolicyRules, resolvePolicyRules } from './access-policy-rules';
import { DROPLET_OPTION_KEYS, DropletOptions } from './droplet-options';
import { AccessRule } from './access-rule';
import {
  ACCESS_APPLICATIONS_PER_ACCOUNT, ACCESS_DOMAINS_PER_APPLICATION, defineAccessApplication, defineAccessPolicy, defineInfrastructureApplication, warnAbout,
} from './internal/access';
import { nameFromHostname, openEgressRules, resolveDropletOptions } from './internal/droplet';
import { HostSpec } from './internal/host';
import { checkInfrastructureProps, resolveAccessMode } from './internal/modes';
import { defineInfrastructureHost } from './internal/infrastructure-host';
import { defineReadinessScript, requireNullProvider } from './internal/readiness';
import { defineSelfHostedHost, SelfHostedApplication } from './internal/self-hosted-host';
import { fleetLimitWarnings } from './internal/limits';
import { TUNNELS_PER_ACCOUNT } from './internal/tunnel';
import { renderInfrastructureSshConfig, renderSshConfig } from './ssh-config';
import { AccessUserInput, CertificatePrincipals, checkPrincipalCollisions, ResolvedUser, resolveUsers, UNIX_NAMING_KEYS, UnixNaming } from './users';
import { validateHostname, validateId, validateImage, validateRegion, validateSlug, validateTag } from './validation';
import { literal } from './internal/escape';
import { claimName } from './internal/unique-names';


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

interface PlannedHost {
  readonly index: number;
  readonly hostname: string;
  /** the construct id of the host, from its hostname: part of every address of the host. */
  readonly id: string;
  readonly spec: FleetHost;
  readonly group?: string;
}

// every prop the fleet reads: the compiler keeps this in step with the interface, and an
// unknown key (a typo, or a prop from another construct) is refused rather than ignored.
const FLEET_PROPS: Record<keyof AccessDropletFleetProps, true> = {
  accountId: true, zoneId: true, zoneName: true, name: true, users: true, hosts: true, count: true, hostnamePattern: true,
  accessGroupSize: true, mode: true, infrastructureCaPublicKey: true, virtualNetworkId: true,
  ...ACCESS_POLICY_OPTION_KEYS, ...ACCESS_APPLICATION_OPTION_KEYS, ...DROPLET_OPTION_KEYS, ...UNIX_NAMING_KEYS,
};
const HOST_PROPS: Record<keyof FleetHost, true> = {
  hostname: true, region: true, size: true, image: true, users: true, tags: true, accessGroup: true,
};

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

  constructor(scope: Construct, id: string, props: AccessDropletFleetProps) {
    super(scope, id);
    checkKnownProps(props);
    const mode = resolveAccessMode(props.mode);
    const infrastructure = mode === AccessMode.INFRASTRUCTURE;
    this.mode = mode;
    validateId('accountId', props.accountId);
    if (infrastructure) {
      checkInfrastructureProps(props, 'hostnames');
    } else {
      validateId('zoneId', props.zoneId);
      if (props.zoneName === undefined) throw new Error('zoneName is required in self-hosted mode: every hostname must be inside it, e.g. "widgetcorp.tech"');
      if (props.infrastructureCaPublicKey !== undefined || props.virtualNetworkId !== undefined) {
        throw new Error('infrastructureCaPublicKey and virtualNetworkId apply to infrastructure mode only; set mode: AccessMode.INFRASTRUCTURE or drop them');
      }
    }
    if (props.zoneName !== undefined) validateHostname('zoneName', props.zoneName);
    if (typeof props.name !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(props.name)) {
      throw new Error(`name ${JSON.stringify(props.name)} must be 1-63 lower-case letters, digits or "-" (it names the fleet tag and firewall)`);
    }
    const principals = infrastructure ? CertificatePrincipals.UNIX_NAME : CertificatePrincipals.EMAIL_LOCAL_PART;
    const commonUsers = resolveUsers(props.users, 'users', props, principals);
    const settings = resolveDropletOptions(props);
    const planned = planHosts(props, principals);
    const groups = groupHosts(planned);
    const path = this.node.path;
    claimName(this, 'fleet name', props.name, path, 'give each fleet its own name (it names the fleet tag and firewall)');
    claimName(this, 'firewall name', `${props.name}-fw`, path, 'give each AccessDroplet and fleet its own name');
    for (const host of planned) {
      claimName(this, 'hostname', host.hostname, `${path} (host ${host.hostname})`, 'a hostname can belong to one AccessDroplet or fleet host only');
      claimName(this, 'tunnel name', host.id, `${path} (host ${host.hostname})`, 'give the AccessDroplet another name');
    }
    fleetLimitWarnings(planned, infrastructure).forEach((w) => Annotations.of(this).addWarning(w));

    const timeoutSec = settings.readinessTimeoutSec;
    const readinessScript = timeoutSec === undefined ? undefined : defineReadinessScript(this);
    if (timeoutSec !== undefined) requireNullProvider(this);
    const access = new Construct(this, 'Access');
    let rules: ResolvedPolicyRules;
    let admitted: string[] = [];
    if (infrastructure) {
      rules = resolvePolicyRules([], { accessRequire: props.accessRequire, accessExclude: props.accessExclude });
      warnAbout(this, rules);
    } else {
      rules = resolvePolicyRules(commonUsers.map((u) => u.email), props);
      warnAbout(this, rules);
      admitted = rules.include.filter((r) => r.kind === 'email').map((r) => String(r.toProvider().email.email).toLowerCase());
      this.accessPolicy = defineAccessPolicy(access, 'AccessPolicy', props.accountId, `${props.name} allow`, rules);
    }

    this.tag = new Tag(this, 'Tag', literal({ name: `access-fleet-${props.name}` }));
    // read these attributes once, outside the loops: every read creates a new token, each with a
    // captured stack trace, and a fleet would otherwise make one per host.
    const tagName = this.tag.name;
    const policyId = this.accessPolicy?.id;
    this.firewall = new Firewall(this, 'Firewall', literal({
      name: `${props.name}-fw`,
      tags: [tagName],
      outboundRule: openEgressRules(),
    }));
    this.accessApplications = [];

    // the users of some hosts, as one infrastructure policy list (common users first).
    const usersOf = (hosts: PlannedHost[]): ResolvedUser[] => {
      const extra = hosts.flatMap((h) => h.spec.users ?? []);
      if (extra.length === 0) return commonUsers;
      const seen = new Set<string>();
      const all = [...props.users, ...extra].filter((u) => {
        const email = (typeof u === 'string' ? u : u.email).toLowerCase();
        return !seen.has(email) && seen.add(email);
      });
      return resolveUsers(all, hosts.length === 1 ? `hosts[${hosts[0].index}] (${hosts[0].hostname}) users` : `access group ${JSON.stringify(hosts[0].group)} users`, props, principals);
    };
    // the emails of some hosts' own users that the fleet policy does not already admit.
    const extraEmailsOf = (hosts: PlannedHost[]) => unique(hosts.flatMap((h) => (h.spec.users ?? []).map((u) => (typeof u === 'string' ? u : u.email))))
      .filter((e) => !admitted.includes(e.toLowerCase()));
    const hostUsersPolicy = (policyScope: Construct, policyName: string, emails: string[]) =>
      defineAccessPolicy(policyScope, 'HostUsersPolicy', props.accountId, policyName, {
        include: emails.map((e) => AccessRule.email(e)), require: rules.require, exclude: rules.exclude, warnings: [],
      }).id;

    // the shared applications of the access groups, under Access/App<key> (v0.1.0's ids).
    const shared = new Map<string, SelfHostedApplication | ZeroTrustAccessApplication>();
    for (const [key, members] of groups) {
      const groupScope = new Construct(access, `App${key}`);
      const common = { accountId: props.accountId, name: `${props.name}-${key}`, hostnames: members.map((h) => h.hostname) };
      if (infrastructure) {
        const app = defineInfrastructureApplication(groupScope, {
          ...common, policyName: `${props.name}-${key}`, users: usersOf(members), require: rules.require, exclude: rules.exclude,
        });
        shared.set(key, app);
        this.accessApplications.push(app);
      } else {
        // everyone with an account on these hosts gets certificates from one CA: one principal,
        // one person (each host's own list was checked in planHosts).
        if (members.some((h) => h.spec.users !== undefined)) {
          checkPrincipalCollisions(
            members.flatMap((h) => resolveUsers([...props.users, ...(h.spec.users ?? [])], `hosts[${h.index}] (${h.hostname}) users`, props)),
            `the hosts of access group ${JSON.stringify(key)}`,
          );
        }
        // extra users of a host pass Access for the hosts of its group only.
        const extraEmails = extraEmailsOf(members);
        const policyIds = [policyId as string];
        if (extraEmails.length > 0) policyIds.push(hostUsersPolicy(groupScope, `${props.name}-${key} host users`, extraEmails));
        const app = defineAccessApplication(groupScope, { ...common, policyIds, sessionDuration: props.accessSessionDuration, caVersion: props.accessCaVersion });
        shared.set(key, app);
        this.accessApplications.push(app.application);
      }
    }

    const hostsScope = new Construct(this, 'Hosts');
    // a plain loop, not map(): cdktf captures a full stack trace for every token, and its cost
    // grows with the depth of the stack (map adds two frames to each of ~30 traces per host).
    const hosts: FleetHostResources[] = [];
    // infrastructure hosts' private addresses, as the host builder read them: reading
    // `droplet.ipv4AddressPrivate` again for the SSH config would make one more token per host.
    const privateAddresses: string[] = [];
    for (const host of planned) {
      const hostScope = new Construct(hostsScope, host.id);
      const accessScope = new Construct(hostScope, 'Access');
      const spec = host.spec;
      const base: HostSpec = {
        accountId: props.accountId,
        hostname: host.hostname,
        name: host.id,
        settings: {
          ...settings,
          region: spec.region ?? settings.region,
          size: spec.size ?? settings.size,
          image: spec.image ?? settings.image,
          tags: [tagName, ...(props.tags ?? []), ...(spec.tags ?? [])],
        },
        users: [...props.users, ...(spec.users ?? [])],
        naming: props,
        warnScope: this,
        accessScope,
        readiness: timeoutSec === undefined ? undefined : { timeoutSec, script: readinessScript, dependsOn: [this.firewall] },
      };
      const appName = `${props.name} ${host.hostname}`;
      if (infrastructure) {
        const built = defineInfrastructureHost(hostScope, {
          ...base,
          caPublicKey: props.infrastructureCaPublicKey as string,
          virtualNetworkId: props.virtualNetworkId,
          application: host.group !== undefined
            ? { shared: shared.get(host.group) as ZeroTrustAccessApplication }
            : { own: { accountId: props.accountId, name: appName, policyName: host.id, users: usersOf([host]), require: rules.require, exclude: rules.exclude } },
        });
        if (host.group === undefined) this.accessApplications.push(built.accessApplication);
        hosts.push(built);
        privateAddresses.push(built.privateAddress);
        continue;
      }
      let application;
      if (host.group !== undefined) {
        application = { shared: shared.get(host.group) as SelfHostedApplication };
      } else {
        const extraEmails = extraEmailsOf([host]);
        const policyIds = [policyId as string];
        if (extraEmails.length > 0) policyIds.push(hostUsersPolicy(accessScope, `${appName} host users`, extraEmails));
        application = { own: { accountId: props.accountId, name: appName, policyIds, sessionDuration: props.accessSessionDuration, caVersion: props.accessCaVersion } };
      }
      const built = defineSelfHostedHost(hostScope, { ...base, zoneId: props.zoneId as string, application });
      if (host.group === undefined) this.accessApplications.push(built.accessApplication);
      hosts.push(built);
    }
    this.hosts = hosts;

    this.sshConfig = infrastructure
      ? this.hosts.map((h, i) => renderInfrastructureSshConfig(h.hostname, privateAddresses[i])).join('\n')
      : renderSshConfig(planned.map((h) => h.hostname), props.clientCloudflaredPath);
    new TerraformOutput(this, 'Hostnames', literal({ value: planned.map((h) => h.hostname), description: 'The hostnames to SSH to through Cloudflare Access' }));
    new TerraformOutput(this, 'SshConfig', literal({ value: this.sshConfig, description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>' }));
  }

}

function unique(values: string[]): string[] {
  const seen = new Set<string>();
  return values.filter((v) => !seen.has(v.toLowerCase()) && seen.add(v.toLowerCase()));
}

function checkKnownProps(props: AccessDropletFleetProps) {
  for (const key of Object.keys(props ?? {})) {
    if (!(key in FLEET_PROPS)) {
      throw new Error(`${key} is not a prop of AccessDropletFleet and would be ignored; remove it (props: ${Object.keys(FLEET_PROPS).join(', ')})`);
    }
  }
  (props.hosts ?? []).forEach((h, i) => {
    for (const key of Object.keys(h ?? {})) {
      if (!(key in HOST_PROPS)) {
        throw new Error(`hosts[${i}].${key} is not a prop of FleetHost and would be ignored; remove it (props: ${Object.keys(HOST_PROPS).join(', ')})`);
      }
    }
  });
}

/** the hosts, from the list or the count and pattern, checked: non-empty, in the zone, unique. */
function planHosts(props: AccessDropletFleetProps, principals: CertificatePrincipals): PlannedHost[] {
  const counted = props.count !== undefined || props.hostnamePattern !== undefined;
  if (props.hosts !== undefined && counted) {
    throw new Error('give either hosts, or count with hostnamePattern, not both');
  }
  let specs: FleetHost[];
  let field: (i: number) => string;
  const groupSize = props.accessGroupSize;
  if (groupSize !== undefined) {
    if (!counted) throw new Error('accessGroupSize applies to counted hosts (count with hostnamePattern); give listed hosts an accessGroup each instead');
    if (!Number.isInteger(groupSize) || groupSize < 1 || groupSize > ACCESS_DOMAINS_PER_APPLICATION) {
      throw new Error(`accessGroupSize ${JSON.stringify(groupSize)} must be a whole number from 1 to ${ACCESS_DOMAINS_PER_APPLICATION} (Cloudflare's limit of domains per application)`);
    }
  }
  if (counted) {
    const count = props.count;
    const pattern = props.hostnamePattern;
    if (pattern === undefined) {
      throw new Error(`count ${JSON.stringify(count)} needs hostnamePattern to name the hosts, e.g. hostnamePattern: "web-{index}.${props.zoneName ?? 'example.com'}"; or list them in hosts`);
    }
    if (count === undefined) {
      throw new Error(`hostnamePattern ${JSON.stringify(pattern)} needs count, the number of hosts to name with it`);
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      throw new Error(`count ${JSON.stringify(count)} must be a whole number of hosts, at least 1`);
    }
    if (typeof pattern !== 'string' || !pattern.includes('{index}')) {
      throw new Error(`hostnamePattern ${JSON.stringify(pattern)} must contain "{index}", e.g. "web-{index}.${props.zoneName ?? 'example.com'}"`);
    }
    specs = Array.from({ length: count }, (_, i) => ({
      hostname: pattern.split('{index}').join(String(i + 1)),
      accessGroup: groupSize === undefined ? undefined : String(Math.floor(i / groupSize) + 1),
    }));
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
    if (zone !== undefined && !Token.isUnresolved(hostname) && !Token.isUnresolved(zone) && !hostname.endsWith(`.${zone}`)) {
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
    if (spec.accessGroup !== undefined && (typeof spec.accessGroup !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(spec.accessGroup))) {
      throw new Error(`hosts[${i}].accessGroup ${JSON.stringify(spec.accessGroup)} must be 1-32 lower-case letters, digits or "-" (it names the shared application)`);
    }
    if (spec.users !== undefined) {
      // the common users and this host's own, together, must still map to distinct accounts.
      resolveUsers([...props.users, ...spec.users], `hosts[${i}] (${hostname}) users`, props, principals);
    }
    return { index: i, hostname, id: nameFromHostname(hostname, `Host${i + 1}`), spec, group: spec.accessGroup };
  });
}

/** the access groups by key, in order of first appearance; at most five hosts each. */
function groupHosts(planned: PlannedHost[]): Map<string, PlannedHost[]> {
  const groups = new Map<string, PlannedHost[]>();
  for (const host of planned) {
    if (host.group === undefined) continue;
    const members = groups.get(host.group) ?? [];
    members.push(host);
    groups.set(host.group, members);
    if (members.length > ACCESS_DOMAINS_PER_APPLICATION) {
      throw new Error(
        `access group ${JSON.stringify(host.group)} has more than ${ACCESS_DOMAINS_PER_APPLICATION} hosts (${members.map((h) => h.hostname).join(', ')}): ` +
        `an Access application covers at most ${ACCESS_DOMAINS_PER_APPLICATION} hostnames; move some to another group`,
      );
    }
  }
  return groups;
}
