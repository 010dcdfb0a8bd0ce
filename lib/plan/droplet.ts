// Planning a host's droplet: the settings after defaults and overrides, checked, and its
// user_data as a template (the cloud-config, and the user's own cloud-config as a second part).
import { encodeAccountTags } from '../account-tags';
import { accountRecords, checkCaPublicKey, checkUserDataSize, cloudConfigTemplate, UserDataTemplate } from '../cloud-init';
import { DropletOptions } from '../droplet-options';
import { checkExtraCloudConfig, composeUserData, USER_DATA_LIMIT_BYTES } from '../user-data';
import { CertificatePrincipals, ResolvedUser, userWarnings } from '../users';
import { validateId, validateImage, validateRegion, validateSize, validateTag } from '../validation';
import { DropletPlan } from './types';

// room left in the user_data limit for the values Terraform fills in (CA key, tunnel token).
const RESOLVED_VALUES_BYTES = 2048;

/** the droplet settings every host of a construct shares, after defaults, checked. */
export interface DropletSettings extends DropletOptions {
  readonly region: string;
  readonly size: string;
  readonly image: string;
  readonly monitoring: boolean;
  /** the readiness timeout, when `waitForReady` is set. */
  readonly readinessTimeoutSec?: number;
}

/**
 * The shared droplet options with their defaults, checked: slugs, tags and the readiness timeout
 * (undefined when `waitForReady` is off).
 */
export function planDropletSettings(props: DropletOptions): DropletSettings {
  const region = props.region ?? 'nyc3';
  const size = props.size ?? 's-1vcpu-1gb';
  const image = props.image ?? 'ubuntu-24-04-x64';
  validateRegion('region', region);
  validateSize('size', size);
  validateImage('image', image);
  (props.tags ?? []).forEach((t, i) => validateTag(`tags[${i}]`, t));
  if (props.waitForReady !== true && props.waitForReadyTimeoutSec !== undefined) {
    throw new Error(`waitForReadyTimeoutSec is ${props.waitForReadyTimeoutSec} but waitForReady is not set; set waitForReady: true or drop the timeout`);
  }
  return {
    ...props,
    region,
    size,
    image,
    monitoring: props.monitoring ?? true,
    readinessTimeoutSec: props.waitForReady === true ? checkTimeout(props.waitForReadyTimeoutSec) : undefined,
  };
}

/** the readiness timeout, checked: whole seconds from 10 to 7200. */
function checkTimeout(value: number | undefined, field = 'waitForReadyTimeoutSec'): number {
  const v = value ?? 600;
  if (!Number.isInteger(v) || v < 10 || v > 7200) {
    throw new Error(`${field} ${JSON.stringify(value)} must be whole seconds from 10 to 7200`);
  }
  return v;
}

/**
 * The user_data template of the droplets: our cloud-config, then the user's `extraCloudConfig`
 * as a second MIME part (checked), size checked with the CA key as given (a literal, or a token
 * of the application's CA). It holds no user: users travel in the droplet's tags
 * ({@link planAccountTags}), so a change of users never changes user_data.
 */
export function planUserData(settings: DropletSettings, caPublicKey: string | undefined, warnings: string[]): UserDataTemplate {
  const ours = cloudConfigTemplate({
    cloudflaredAptUrl: settings.cloudflaredAptUrl,
    cloudflaredAptSuite: settings.cloudflaredAptSuite,
    cloudflaredAptComponent: settings.cloudflaredAptComponent,
    cloudflaredAptKeyUrl: settings.cloudflaredAptKeyUrl,
    restrictMetadataService: settings.restrictMetadataService,
    allowPortForwarding: settings.allowPortForwarding,
    cloudflaredAutoUpdate: settings.cloudflaredAutoUpdate,
  });
  warnings.push(...ours.warnings);
  if (caPublicKey !== undefined) checkCaPublicKey(caPublicKey);
  checkUserDataSize(ours, caPublicKey, undefined);
  if (settings.extraCloudConfig === undefined) {
    if (settings.dangerouslyRunExtraCloudConfigAsRoot === true) {
      warnings.push('dangerouslyRunExtraCloudConfigAsRoot is set but there is no extraCloudConfig; remove the flag');
    }
    return ours;
  }
  warnings.push(...checkExtraCloudConfig('extraCloudConfig', settings.extraCloudConfig, { runsAsRoot: settings.dangerouslyRunExtraCloudConfigAsRoot }));
  // compose around markers that JSON (the user's part) cannot contain, then cut there again.
  const marked = ours.parts.map((p, i) => (i % 2 === 1 ? `\u0000${p}\u0000` : p)).join('');
  // not escaped here: the build escapes the whole user_data once, as every literal it writes.
  const composed = composeUserData(marked, settings.extraCloudConfig);
  const parts = composed.split(/\u0000(caPublicKey|tunnelEnv)\u0000/);
  const bytes = parts.reduce((sum, part, i) => (i % 2 === 1 ? sum : sum + Buffer.byteLength(part, 'utf8')), 0);
  const total = bytes + RESOLVED_VALUES_BYTES;
  if (total > USER_DATA_LIMIT_BYTES) {
    throw new Error(`extraCloudConfig makes user_data about ${total} bytes, over DigitalOcean's limit of ${USER_DATA_LIMIT_BYTES}; make it smaller`);
  }
  return { ...ours, parts, bytes };
}

/**
 * The droplet tags that carry these users' accounts (lib/account-tags.ts; the host's accounts
 * agent applies them), with the warnings about the users.
 */
export function planAccountTags(users: readonly ResolvedUser[], principals: CertificatePrincipals, warnings: string[]): string[] {
  warnings.push(...userWarnings(users));
  try {
    return encodeAccountTags(accountRecords(users, principals));
  } catch (e) {
    throw new Error(`users: ${(e as Error).message}; split the users across droplets`);
  }
}

/**
 * The warnings and checks of a droplet's extras, for a host with this image: a snapshot or custom
 * image, malformed volume or project ids, and keeping the droplet on user_data changes.
 */
export function planDropletExtras(settings: DropletSettings, image: string, warnings: string[]): void {
  if (validateImage('image', image)) {
    warnings.push(`image ${image} is a snapshot or custom image id: it must be Debian or Ubuntu based (apt, systemd, OpenSSH, cloud-init), or the tunnel never comes up`);
  }
  settings.volumeIds?.forEach((v, i) => validateId(`volumeIds[${i}]`, v));
  if (settings.projectId !== undefined) validateId('projectId', settings.projectId);
  if (settings.userDataCausesReplacement === false) {
    warnings.push(
      'userDataCausesReplacement is false: changes to user_data (extraCloudConfig, the apt source, allowPortForwarding, restrictMetadataService) ' +
      'no longer reach the droplet; users still do, through its tags (a new CA key or tunnel token still replaces it)',
    );
  }
}

/**
 * Whether replacement droplets are created before the old ones are destroyed: by default yes,
 * unless something can belong to one droplet or one application only.
 */
export function planCreateBeforeDestroy(settings: DropletSettings, caVersion: string | undefined): boolean {
  const asked = settings.dropletCreateBeforeDestroy;
  const volumes = (settings.volumeIds ?? []).length > 0;
  if (asked === true && volumes) {
    throw new Error('dropletCreateBeforeDestroy cannot be true with volumeIds: a volume attaches to one droplet only, so the old droplet must go first; drop one of them');
  }
  if (asked === true && caVersion !== undefined) {
    throw new Error(
      'dropletCreateBeforeDestroy cannot be true with accessCaVersion: Terraform would create the new CA before destroying the old one, ' +
      'and Cloudflare keeps one CA per application; drop one of them (README, "Rotate the SSH CA")',
    );
  }
  return asked ?? (!volumes && caVersion === undefined);
}

/** one droplet: the shared settings, this host's overrides, its user_data. */
export function planDroplet(
  settings: DropletSettings, host: { hostname: string; region?: string; size?: string; image?: string; tags?: readonly string[] },
  userData: UserDataTemplate, accountTags: readonly string[], caPublicKey: string | undefined, createBeforeDestroy: boolean,
): DropletPlan {
  return {
    name: host.hostname,
    image: host.image ?? settings.image,
    region: host.region ?? settings.region,
    size: host.size ?? settings.size,
    monitoring: settings.monitoring,
    vpcUuid: settings.vpcUuid,
    tags: [...(settings.tags ?? []), ...(host.tags ?? []), ...accountTags],
    backups: settings.backups,
    ipv6: settings.ipv6,
    gracefulShutdown: settings.gracefulShutdown,
    volumeIds: settings.volumeIds,
    projectId: settings.projectId,
    userData,
    caPublicKey,
    keepOnUserDataChange: settings.userDataCausesReplacement === false,
    createBeforeDestroy,
    preventDestroy: settings.dropletPreventDestroy === true,
  };
}
