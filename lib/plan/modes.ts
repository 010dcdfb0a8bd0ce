// the checks of an access mode that AccessDroplet and AccessDropletFleet share: one place, so a
// prop refused in infrastructure mode is refused by both, with the same message.
import { AccessApplicationOptions } from '../access-application-options';
import { AccessMode } from '../access-mode';
import { AccessPolicyOptions } from '../access-policy-rules';

/** the props infrastructure mode reads or refuses, as both constructs spell them. */
export interface InfrastructureModeProps extends AccessPolicyOptions, AccessApplicationOptions {
  readonly zoneId?: string;
  readonly infrastructureCaPublicKey?: string;
  /** AccessDroplet only: existing reusable policies. */
  readonly accessPolicyIds?: string[];
}

/**
 * refuses what infrastructure mode cannot honour instead of ignoring it, and requires the CA.
 * `hostnames` is how the construct names what zoneName checks ("hostname" or "hostnames").
 */
export function checkInfrastructureProps(props: InfrastructureModeProps, hostnames: 'hostname' | 'hostnames'): void {
  if (props.accessPolicyIds !== undefined) {
    throw new Error('accessPolicyIds works in self-hosted mode only: infrastructure policies name the Unix user each person may log in as, which reusable policies cannot in provider 5.14');
  }
  for (const field of ['allow', 'accessInclude', 'dangerouslyAllowEveryone', 'dangerouslyAllowImpersonation'] as const) {
    if (props[field] !== undefined) {
      throw new Error(`${field} has no effect in infrastructure mode: each policy admits one user to their own Unix account; add people to users instead`);
    }
  }
  if (props.accessSessionDuration !== undefined) {
    throw new Error('accessSessionDuration is not supported for infrastructure applications; drop it in infrastructure mode');
  }
  // never silently ignored: these configure the public hostname, which this mode does not have.
  if (props.zoneId !== undefined) {
    throw new Error(`zoneId has no effect in infrastructure mode: it creates no DNS record; drop it (zoneName may stay, to check the ${hostnames})`);
  }
  if (props.clientCloudflaredPath !== undefined) {
    throw new Error('clientCloudflaredPath has no effect in infrastructure mode: clients connect through WARP, not cloudflared; drop it');
  }
  if (props.browserSsh !== undefined) {
    throw new Error('browserSsh works in self-hosted mode only: the browser terminal renders a self-hosted application of type ssh; drop it or use AccessMode.SELF_HOSTED');
  }
  if (props.accessTeamName !== undefined) {
    throw new Error('accessTeamName has no effect in infrastructure mode: there is no public hostname for cloudflared to protect with Access; drop it');
  }
  if (props.accessCaVersion !== undefined) {
    throw new Error(`accessCaVersion ${JSON.stringify(props.accessCaVersion)} applies to self-hosted mode; in infrastructure mode the CA is the account's: rotate it in Cloudflare and change infrastructureCaPublicKey`);
  }
  if (props.infrastructureCaPublicKey === undefined) {
    throw new Error('infrastructureCaPublicKey is required in infrastructure mode: the account SSH CA public key from GET /accounts/{account_id}/access/gateway_ca');
  }
}

/** the mode a construct was given, checked (default: self-hosted). */
export function resolveAccessMode(mode: AccessMode | undefined): AccessMode {
  const resolved = mode ?? AccessMode.SELF_HOSTED;
  if (!Object.values(AccessMode).includes(resolved)) {
    throw new Error(`mode ${JSON.stringify(resolved)} is not one of ${Object.values(AccessMode).join(', ')}`);
  }
  return resolved;
}
