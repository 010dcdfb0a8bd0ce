// The plan of an AccessDroplet: a plan of one host, in the construct's own scope.
import { Token } from 'cdktf';
import type { AccessDropletProps } from '../access-droplet';
import { ACCESS_APPLICATION_OPTION_KEYS } from '../access-application-options';
import { AccessMode } from '../access-mode';
import { ACCESS_POLICY_OPTION_KEYS, resolvePolicyRules } from '../access-policy-rules';
import { renderSshConfig } from '../ssh-config';
import { DROPLET_OPTION_KEYS } from '../droplet-options';
import { CertificatePrincipals, checkUnixNames, resolveUsers, UNIX_NAMING_KEYS } from '../users';
import { validateHostname, validateId } from '../validation';
import { checkApplicationOptions, checkCaVersion, checkPolicyIds, infrastructureApplication, planOrigin, policyPlan, selfHostedApplication } from './access';
import { planAccountTags, planCreateBeforeDestroy, planDroplet, planDropletExtras, planDropletSettings, planUserData } from './droplet';
import { admittedRules, checkAdmission } from './admission';
import { checkLiteralStrings } from './literals';
import { checkInfrastructureProps, resolveAccessMode } from './modes';
import { AccessPlan, ApplicationPlan, NameClaim, PolicyPlan } from './types';

// every prop the construct reads: the compiler keeps this in step with the interface, and an
// unknown key (a typo, or a fleet prop such as `count`) is refused rather than ignored.
const DROPLET_PROPS: Record<keyof AccessDropletProps, true> = {
  accountId: true, zoneId: true, zoneName: true, hostname: true, users: true, accessPolicyIds: true, accessAppName: true,
  accessTags: true, accessAllowedIdps: true, accessAutoRedirectToIdentity: true, mode: true, infrastructureCaPublicKey: true,
  virtualNetworkId: true, name: true,
  ...ACCESS_POLICY_OPTION_KEYS, ...ACCESS_APPLICATION_OPTION_KEYS, ...DROPLET_OPTION_KEYS, ...UNIX_NAMING_KEYS,
};

/** the physical name derived from a hostname: dots become dashes. */
export function nameFromHostname(hostname: string, fallback: string): string {
  return Token.isUnresolved(hostname) ? fallback : hostname.replace(/\./g, '-');
}

/**
 * Plans an AccessDroplet (construct id `id`): checks every prop once and decides every resource.
 * Pure: no construct, no token.
 */
export function planAccessDroplet(props: AccessDropletProps, id: string): AccessPlan {
  for (const key of Object.keys(props ?? {})) {
    if (!(key in DROPLET_PROPS)) {
      throw new Error(`${key} is not a prop of AccessDroplet and would be ignored; remove it (props: ${Object.keys(DROPLET_PROPS).join(', ')})`);
    }
  }
  checkLiteralStrings(props);
  const mode = resolveAccessMode(props.mode);
  const infrastructure = mode === AccessMode.INFRASTRUCTURE;
  validateId('accountId', props.accountId);
  if (!infrastructure) validateId('zoneId', props.zoneId);
  validateHostname('hostname', props.hostname);
  checkInZone(props.hostname, props.zoneName);
  const principals = infrastructure ? CertificatePrincipals.UNIX_NAME : CertificatePrincipals.EMAIL_LOCAL_PART;
  const users = resolveUsers(props.users, 'users', props, principals);
  checkUnixNames(props, props.users ?? []);
  const settings = planDropletSettings(props);
  const name = props.name ?? nameFromHostname(props.hostname, id);
  if (!Token.isUnresolved(name) && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    if (props.name === undefined) {
      throw new Error(
        `the name derived from hostname ${JSON.stringify(props.hostname)} (${JSON.stringify(name)}) is ${name.length} characters long, over 63; ` +
        'it names the tunnel, the Access application and the firewall: pass name, e.g. name: "bastion"',
      );
    }
    throw new Error(`name ${JSON.stringify(name)} must be 1-63 letters, digits, ".", "-" or "_"`);
  }
  const appOptions = checkApplicationOptions(props, infrastructure);
  const warnings: string[] = [];
  let application: ApplicationPlan;
  let policy: PolicyPlan | undefined;
  let origin: AccessPlan['origin'];
  const appName = appOptions.name ?? name;
  if (infrastructure) {
    checkInfrastructureProps(props, 'hostname');
    const rules = resolvePolicyRules([], { accessRequire: props.accessRequire, accessExclude: props.accessExclude });
    warnings.push(...rules.warnings);
    application = infrastructureApplication({
      key: 'Access', path: ['Access'], name: appName, hostnames: [props.hostname], policyName: name, users, rules, options: appOptions,
    });
  } else {
    if (props.infrastructureCaPublicKey !== undefined || props.virtualNetworkId !== undefined) {
      throw new Error('infrastructureCaPublicKey and virtualNetworkId apply to infrastructure mode only; set mode: AccessMode.INFRASTRUCTURE or drop them');
    }
    let sources;
    if (props.accessPolicyIds !== undefined) {
      const ids = checkPolicyIds(props);
      warnings.push(`Access admits whoever the ${ids.length} existing policies allow; only the ${users.length} listed users get Unix accounts`);
      sources = ids.map((existing) => ({ existing }));
    } else {
      const rules = resolvePolicyRules(users.map((u) => u.email), props);
      warnings.push(...rules.warnings);
      policy = policyPlan(['Access'], 'AccessPolicy', `${name} allow`, rules);
      sources = [{ shared: true as const }];
    }
    warnings.push(...checkAdmission({
      where: props.hostname,
      accounts: users,
      rules: props.accessPolicyIds === undefined ? admittedRules(users, 'users', props) : [],
      existingPolicies: props.accessPolicyIds ?? [],
    }, props));
    checkCaVersion(props.accessCaVersion);
    application = selfHostedApplication({
      key: 'Access', path: ['Access'], name: appName, hostnames: [props.hostname], policies: sources,
      sessionDuration: props.accessSessionDuration, caVersion: props.accessCaVersion, options: appOptions,
      admission: props.accessPolicyIds === undefined ? { where: props.hostname, accounts: users } : undefined,
      browserSsh: props.browserSsh,
    });
    origin = planOrigin(props, users, warnings);
  }
  const caPublicKey = infrastructure ? props.infrastructureCaPublicKey : undefined;
  const userData = planUserData(settings, caPublicKey, warnings);
  const accountTags = planAccountTags(users, principals, warnings);
  planDropletExtras(settings, settings.image, warnings);
  return {
    mode,
    accountId: props.accountId,
    warnings: unique(warnings),
    claims: [
      { kind: 'hostname', value: props.hostname, where: '', fix: 'a hostname can belong to one AccessDroplet or fleet host only' },
      { kind: 'tunnel name', value: name, where: '', fix: 'give each AccessDroplet its own name (it also names the firewall)' },
      { kind: 'firewall name', value: `${name}-fw`, where: '', fix: 'give each AccessDroplet and fleet its own name' },
      ...volumeClaims(settings.volumeIds, ''),
    ],
    scopes: [['Access']],
    readiness: settings.readinessTimeoutSec === undefined ? undefined : { timeoutSec: settings.readinessTimeoutSec, scriptPath: [], scriptFirst: false },
    policy,
    firewall: { path: [], tagName: `access-droplet-${tagSafe(name)}`, name: `${name}-fw` },
    sharedApplications: [],
    hosts: [{
      hostname: props.hostname,
      path: [],
      accessPath: ['Access'],
      tunnelName: name,
      application: { own: application },
      reach: infrastructure ? 'private-route' : 'public-hostname',
      zoneId: props.zoneId,
      virtualNetworkId: props.virtualNetworkId,
      droplet: planDroplet(settings, { hostname: props.hostname }, userData, accountTags, caPublicKey, planCreateBeforeDestroy(settings, props.accessCaVersion)),
    }],
    sshConfig: infrastructure ? undefined : renderSshConfig([props.hostname], props.clientCloudflaredPath),
    admissionOptIns: { dangerouslyAllowEveryone: props.dangerouslyAllowEveryone, dangerouslyAllowImpersonation: props.dangerouslyAllowImpersonation },
    origin,
  };
}

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

/** a volume attaches to one droplet only: claims for the volumes of the droplet at `where`. */
export function volumeClaims(volumeIds: readonly string[] | undefined, where: string): NameClaim[] {
  return (volumeIds ?? []).map((value) => ({ kind: 'volume', value, where, fix: 'a volume attaches to one droplet only, give each droplet its own in volumeIds' }));
}

/** the values in order, each once. */
export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
