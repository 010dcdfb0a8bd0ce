// day-2 options of a droplet (issue 11), applied to the droplet that defineDroplet made, so the
// construct files need one call: image warnings, backups, IPv6, volumes, project, graceful
// shutdown, extra cloud-config, keeping the droplet on user_data changes, and CA rotation.
import { DataResource, Token } from 'cdktf';
import { Construct } from 'constructs';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { ProjectResources } from '@cdktf/provider-digitalocean/lib/project-resources';
import { DropletOptions } from '../droplet-options';
import { checkExtraCloudConfig, composeUserData, USER_DATA_LIMIT_BYTES } from '../user-data';
import { validateId, validateImage } from '../validation';
import { escapeTerraformTemplate, literal } from './escape';
import { claimName } from './unique-names';
import { warnOnce } from './warn';

// room left in the user_data limit for the values Terraform fills in (CA key, tunnel token).
const RESOLVED_VALUES_BYTES = 2048;


/**
 * Applies the day-2 options in `options` to `droplet` (defined in `scope`); `trust` is what the
 * droplet's user_data holds that must still replace it when `userDataCausesReplacement` is off.
 */
export function applyDropletExtras(
  scope: Construct, droplet: Droplet, options: DropletOptions, trust: { caPublicKey: string; tunnelToken: string },
  warnTo: Construct = scope,
): void {
  if (options.image !== undefined && validateImage('image', options.image)) {
    warnOnce(warnTo,
      `image ${options.image} is a snapshot or custom image id: it must be Debian or Ubuntu based (apt, systemd, OpenSSH, cloud-init), or the tunnel never comes up`,
    );
  }
  if (options.backups !== undefined) droplet.backups = options.backups;
  if (options.ipv6 !== undefined) droplet.ipv6 = options.ipv6;
  if (options.gracefulShutdown !== undefined) droplet.gracefulShutdown = options.gracefulShutdown;
  if (options.volumeIds !== undefined) {
    options.volumeIds.forEach((v, i) => {
      validateId(`volumeIds[${i}]`, v);
      claimName(scope, 'volume', v, scope.node.path, 'a volume attaches to one droplet only, give each droplet its own in volumeIds');
    });
    droplet.volumeIds = options.volumeIds;
  }
  if (options.projectId !== undefined) {
    validateId('projectId', options.projectId);
    new ProjectResources(scope, 'ProjectResources', literal({ project: options.projectId, resources: [droplet.urn] }));
  }
  if (options.extraCloudConfig !== undefined) {
    checkExtraCloudConfig('extraCloudConfig', options.extraCloudConfig);
    const userData = composeUserData(droplet.userDataInput as string, options.extraCloudConfig, escapeTerraformTemplate);
    const bytes = Buffer.byteLength(userData, 'utf8') + RESOLVED_VALUES_BYTES;
    if (bytes > USER_DATA_LIMIT_BYTES) {
      throw new Error(`extraCloudConfig makes user_data about ${bytes} bytes, over DigitalOcean's limit of ${USER_DATA_LIMIT_BYTES}; make it smaller`);
    }
    droplet.userData = userData;
  }
  if (options.userDataCausesReplacement === false) {
    // the droplet keeps its disk when users change; but a droplet holding an old CA key or tunnel
    // token could never be reached again, so those still replace it.
    const trusted = new DataResource(scope, 'DropletTrust', literal({ input: { ca_public_key: trust.caPublicKey, tunnel_token: trust.tunnelToken } }));
    droplet.lifecycle = { ...droplet.lifecycle, ignoreChanges: ['user_data'], replaceTriggeredBy: [addressOf(trusted)] };
    warnOnce(warnTo,
      'userDataCausesReplacement is false: changes to users (and other user_data) no longer reach the droplet; apply them on the host (README, "Change users without a new droplet")',
    );
  }
}

/**
 * Wires `accessCaVersion` to the certificate: a terraform_data holding the version, and
 * replace_triggered_by on the certificate, so a new version replaces the CA.
 */
export function applyCaRotation(scope: Construct, certificate: ZeroTrustAccessShortLivedCertificate, version: string | undefined): void {
  if (version === undefined) return;
  if (typeof version !== 'string' || (!Token.isUnresolved(version) && !/^[A-Za-z0-9._-]{1,64}$/.test(version))) {
    throw new Error(`accessCaVersion ${JSON.stringify(version)} must be 1-64 letters, digits, ".", "-" or "_", e.g. "2"`);
  }
  const rotation = new DataResource(scope, 'CaVersion', literal({ input: { version } }));
  certificate.lifecycle = { ...certificate.lifecycle, replaceTriggeredBy: [addressOf(rotation)] };
}

/**
 * a resource's address as replace_triggered_by needs it: cdktf 0.21 turns a resource into
 * "${type.name}", which Terraform rejects there ("Invalid character").
 */
function addressOf(resource: DataResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}
