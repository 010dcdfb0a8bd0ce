// The plan of an AccessDropletFleet: many hosts that share what can be shared without tying them
// together (one policy, one firewall by tag, the common users), each in its own scope.
import { Token } from 'cdktf';
import type { AccessDropletFleetProps, FleetHost } from '../access-droplet-fleet';
import { ACCESS_APPLICATION_OPTION_KEYS } from '../access-application-options';
import { AccessMode } from '../access-mode';
import { ACCESS_POLICY_OPTION_KEYS, ResolvedPolicyRules, resolvePolicyRules } from '../access-policy-rules';
import { AccessRule } from '../access-rule';
import { DROPLET_OPTION_KEYS } from '../droplet-options';
import { renderSshConfig } from '../ssh-config';
import { CertificatePrincipals, checkPrincipalCollisions, checkUnixNames, ResolvedUser, resolveUsers, UNIX_NAMING_KEYS } from '../users';
import { validateHostname, validateId, validateImage, validateRegion, validateSize, validateTag } from '../validation';
import { checkCaVersion, checkSessionDuration, infrastructureApplication, planOrigin, policyPlan, selfHostedApplication } from './access';
import { nameFromHostname, unique, volumeClaims } from './access-droplet-plan';
import { DropletSettings, planAccountTags, planCreateBeforeDestroy, planDroplet, planDropletExtras, planDropletSettings, planUserData } from './droplet';
import { ACCESS_DOMAINS_PER_APPLICATION, fleetLimitWarnings } from './limits';
import { AdmittedRule, admittedRules, checkAdmission } from './admission';
import { checkLiteralStrings } from './literals';
import { checkInfrastructureProps, resolveAccessMode } from './modes';
import { AccessPlan, ApplicationPlan, HostPlan, NameClaim, PolicySource } from './types';

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

/** a host of the fleet, as listed or counted, checked. */
export interface FleetMember {
  readonly index: number;
  readonly hostname: string;
  /** the construct id of the host, from its hostname: part of every address of the host. */
  readonly id: string;
  readonly spec: FleetHost;
  readonly group?: string;
  /** everyone with an account on the host: the common users, then the host's own, resolved. */
  readonly users: readonly ResolvedUser[];
}

/** Plans an AccessDropletFleet: checks every prop once and decides every resource. Pure. */
export function planFleet(props: AccessDropletFleetProps): AccessPlan {
  checkKnownProps(props);
  checkLiteralStrings(props);
  const mode = resolveAccessMode(props.mode);
  const infrastructure = mode === AccessMode.INFRASTRUCTURE;
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
  checkUnixNames(props, [...(props.users ?? []), ...(Array.isArray(props.hosts) ? props.hosts.flatMap((h) => (Array.isArray(h?.users) ? h.users : [])) : [])]);
  const settings = planDropletSettings(props);
  const members = planMembers(props, principals, commonUsers);
  const groups = groupMembers(members);
  checkSessionDuration(props.accessSessionDuration);
  if (!infrastructure) checkCaVersion(props.accessCaVersion);

  const warnings: string[] = fleetLimitWarnings(members, infrastructure);
  const claims: NameClaim[] = [
    { kind: 'fleet name', value: props.name, where: '', fix: 'give each fleet its own name (it names the fleet tag and firewall)' },
    { kind: 'firewall name', value: `${props.name}-fw`, where: '', fix: 'give each AccessDroplet and fleet its own name' },
  ];
  for (const m of members) {
    claims.push({ kind: 'hostname', value: m.hostname, where: ` (host ${m.hostname})`, fix: 'a hostname can belong to one AccessDroplet or fleet host only' });
    claims.push({ kind: 'tunnel name', value: m.id, where: ` (host ${m.hostname})`, fix: 'give the AccessDroplet another name' });
  }

  const rules = infrastructure
    ? resolvePolicyRules([], { accessRequire: props.accessRequire, accessExclude: props.accessExclude })
    : resolvePolicyRules(commonUsers.map((u) => u.email), props);
  warnings.push(...rules.warnings);
  const admitted = infrastructure ? [] : rules.include.filter((r) => r.kind === 'email').map((r) => String(r.toProvider().email.email).toLowerCase());
  const access = new FleetAccess(props, infrastructure, principals, commonUsers, rules, admitted, warnings);

  // the shared applications of the access groups, under Access/App<key> (v0.1.0's ids).
  const sharedApplications: ApplicationPlan[] = [];
  for (const [key, groupMembers] of groups) sharedApplications.push(access.application(`App${key}`, ['Access', `App${key}`], `${props.name}-${key}`, `${props.name}-${key}`, groupMembers));

  const caPublicKey = infrastructure ? props.infrastructureCaPublicKey : undefined;
  const createBeforeDestroy = planCreateBeforeDestroy(settings, props.accessCaVersion);
  const userData = planUserData(settings, caPublicKey, warnings);
  // hosts with the same users carry the same account tags: encoded once.
  const tagsOf = new Map<readonly ResolvedUser[], string[]>();
  const accountTagsOf = (users: readonly ResolvedUser[]) => {
    let tags = tagsOf.get(users);
    if (tags === undefined) {
      tags = planAccountTags(users, principals, warnings);
      tagsOf.set(users, tags);
    }
    return tags;
  };
  const hosts: HostPlan[] = [];
  for (const m of members) {
    const spec = m.spec;
    const accessPath = ['Hosts', m.id, 'Access'];
    hosts.push({
      hostname: m.hostname,
      path: ['Hosts', m.id],
      accessPath,
      tunnelName: m.id,
      application: m.group !== undefined
        ? { shared: `App${m.group}` }
        : { own: access.application('own', accessPath, `${props.name} ${m.hostname}`, m.id, [m]) },
      reach: infrastructure ? 'private-route' : 'public-hostname',
      zoneId: props.zoneId,
      virtualNetworkId: props.virtualNetworkId,
      droplet: planDroplet(settings, spec, userData, accountTagsOf(m.users), caPublicKey, createBeforeDestroy),
    });
    planDropletExtras(settings, spec.image ?? settings.image, warnings);
    claims.push(...volumeClaims(settings.volumeIds, `/Hosts/${m.id}`));
  }
  return {
    mode,
    accountId: props.accountId,
    warnings: unique(warnings),
    claims,
    scopes: [['Access']],
    readiness: settings.readinessTimeoutSec === undefined ? undefined : { timeoutSec: settings.readinessTimeoutSec, scriptPath: [], scriptFirst: true },
    policy: infrastructure ? undefined : policyPlan(['Access'], 'AccessPolicy', `${props.name} allow`, rules),
    firewall: { path: [], tagName: `access-fleet-${props.name}`, name: `${props.name}-fw` },
    sharedApplications,
    hosts,
    sshConfig: infrastructure ? undefined : renderSshConfig(members.map((m) => m.hostname), props.clientCloudflaredPath),
    admissionOptIns: { dangerouslyAllowEveryone: props.dangerouslyAllowEveryone, dangerouslyAllowImpersonation: props.dangerouslyAllowImpersonation },
    origin: infrastructure ? undefined : planOrigin(props, uniqueUsers(members), warnings),
  };
}

/** the applications of a fleet: who each one admits, and (self-hosted) with which policies. */
class FleetAccess {
  constructor(
    private readonly props: AccessDropletFleetProps,
    private readonly infrastructure: boolean,
    private readonly principals: CertificatePrincipals,
    private readonly commonUsers: ResolvedUser[],
    private readonly rules: ResolvedPolicyRules,
    /** the emails the fleet policy admits, lower case. */
    private readonly admitted: string[],
    /** where the admission check's warnings go. */
    private readonly warnings: string[],
  ) {
    this.commonRules = infrastructure ? [] : admittedRules(commonUsers, 'users', props);
  }

  private readonly commonRules: AdmittedRule[];
  private commonAdmissionChecked = false;

  /** the application of some hosts: a group's (key `App<group>`) or a host's own (key `own`). */
  public application(key: string, path: string[], name: string, policyName: string, hosts: FleetMember[]): ApplicationPlan {
    const hostnames = hosts.map((h) => h.hostname);
    if (this.infrastructure) {
      return infrastructureApplication({ key, path, name, hostnames, policyName, users: this.usersOf(hosts), rules: this.rules });
    }
    // everyone with an account on these hosts gets certificates from one CA: one principal,
    // one person (each host's own list was checked with the common users already).
    if (hosts[0].group !== undefined && hosts.some((h) => h.spec.users !== undefined)) {
      checkPrincipalCollisions(hosts.flatMap((h) => h.users), `the hosts of access group ${JSON.stringify(hosts[0].group)}`);
    }
    const where = this.checkAdmission(hosts);
    // extra users of a host pass Access for the hosts of its application only.
    const extraEmails = uniqueIgnoringCase(hosts.flatMap((h) => (h.spec.users ?? []).map((u) => (typeof u === 'string' ? u : u.email))))
      .filter((e) => !this.admitted.includes(e.toLowerCase()));
    const policies: PolicySource[] = [{ shared: true }];
    if (extraEmails.length > 0) {
      policies.push({
        own: policyPlan(path, 'HostUsersPolicy', `${name} host users`, {
          include: extraEmails.map((e) => AccessRule.email(e)), require: this.rules.require, exclude: this.rules.exclude,
        }),
      });
    }
    return selfHostedApplication({
      key, path, name, hostnames, policies, sessionDuration: this.props.accessSessionDuration, caVersion: this.props.accessCaVersion,
      admission: { where, accounts: hosts.length === 1 ? hosts[0].users : hosts.flatMap((h) => h.users) },
      browserSsh: this.props.browserSsh,
    });
  }

  /**
   * One principal, one person (plan/admission.ts) over everyone this application admits: the
   * fleet policy's rules and the hosts' own users, against everyone with an account on them.
   * Applications without users of their own all check the same thing: once.
   */
  private checkAdmission(hosts: FleetMember[]): string {
    const own = hosts.some((h) => h.spec.users !== undefined);
    const where = hosts[0].group === undefined ? hosts[0].hostname : `access group ${JSON.stringify(hosts[0].group)}`;
    if (!own && this.commonAdmissionChecked) return where;
    const rules = [...this.commonRules];
    for (const h of hosts) (h.spec.users ?? []).forEach((u, j) => rules.push({ kind: 'email', value: typeof u === 'string' ? u : u.email, source: `hosts[${h.index}].users[${j}]` }));
    this.warnings.push(...checkAdmission({ where, accounts: hosts.flatMap((h) => h.users), rules, existingPolicies: [] }, this.props));
    if (!own) this.commonAdmissionChecked = true;
    return where;
  }

  /** the users of some hosts, as one infrastructure policy list (common users first). */
  private usersOf(hosts: FleetMember[]): ResolvedUser[] {
    const extra = hosts.flatMap((h) => h.spec.users ?? []);
    if (extra.length === 0) return this.commonUsers;
    const seen = new Set<string>();
    const all = [...this.props.users, ...extra].filter((u) => {
      const email = (typeof u === 'string' ? u : u.email).toLowerCase();
      return !seen.has(email) && seen.add(email);
    });
    const label = hosts.length === 1 ? `hosts[${hosts[0].index}] (${hosts[0].hostname}) users` : `access group ${JSON.stringify(hosts[0].group)} users`;
    return resolveUsers(all, label, this.props, this.principals);
  }
}

/** everyone with an account on some host of the fleet, once each. */
function uniqueUsers(members: readonly FleetMember[]): ResolvedUser[] {
  const seen = new Map<string, ResolvedUser>();
  for (const m of members) for (const u of m.users) if (!seen.has(u.email.toLowerCase())) seen.set(u.email.toLowerCase(), u);
  return [...seen.values()];
}

function uniqueIgnoringCase(values: string[]): string[] {
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
function planMembers(props: AccessDropletFleetProps, principals: CertificatePrincipals, commonUsers: ResolvedUser[]): FleetMember[] {
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
    if (spec.size !== undefined) validateSize(`hosts[${i}].size`, spec.size);
    if (spec.image !== undefined) validateImage(`hosts[${i}].image`, spec.image);
    (spec.tags ?? []).forEach((t, j) => validateTag(`hosts[${i}].tags[${j}]`, t));
    if (spec.accessGroup !== undefined && (typeof spec.accessGroup !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(spec.accessGroup))) {
      throw new Error(`hosts[${i}].accessGroup ${JSON.stringify(spec.accessGroup)} must be 1-32 lower-case letters, digits or "-" (it names the shared application)`);
    }
    // the common users and this host's own, together, must still map to distinct accounts.
    const users = spec.users === undefined ? commonUsers : resolveUsers([...props.users, ...spec.users], `hosts[${i}] (${hostname}) users`, props, principals);
    return { index: i, hostname, id: nameFromHostname(hostname, `Host${i + 1}`), spec, group: spec.accessGroup, users };
  });
}

/** the access groups by key, in order of first appearance; at most five hosts each. */
function groupMembers(members: FleetMember[]): Map<string, FleetMember[]> {
  const groups = new Map<string, FleetMember[]>();
  for (const m of members) {
    if (m.group === undefined) continue;
    const list = groups.get(m.group) ?? [];
    list.push(m);
    groups.set(m.group, list);
    if (list.length > ACCESS_DOMAINS_PER_APPLICATION) {
      throw new Error(
        `access group ${JSON.stringify(m.group)} has more than ${ACCESS_DOMAINS_PER_APPLICATION} hosts (${list.map((h) => h.hostname).join(', ')}): ` +
        `an Access application covers at most ${ACCESS_DOMAINS_PER_APPLICATION} hostnames; move some to another group`,
      );
    }
  }
  return groups;
}

export type { DropletSettings };
