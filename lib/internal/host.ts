// what both host builders (self-hosted-host.ts, infrastructure-host.ts) take: one host's droplet,
// its users and how long to wait for it. A host lives in its own scope: for an AccessDroplet the
// construct itself, for a fleet `Hosts/<hostname with dashes>`; the ids under it are the same.
import { ITerraformDependable, TerraformAsset } from 'cdktf';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Construct } from 'constructs';
import { AccessUserInput, UnixNaming } from '../users';
import { DropletSettings } from './droplet';
import { defineReadinessWait } from './readiness';

/** one host, as both builders take it. */
export interface HostSpec {
  readonly accountId: string;
  /** the name users SSH to (self-hosted) or the target's hostname (infrastructure). */
  readonly hostname: string;
  /** the tunnel's name. */
  readonly name: string;
  /** this host's droplet settings, its tags included. */
  readonly settings: DropletSettings;
  /** everyone who gets an account on this host. */
  readonly users: AccessUserInput[];
  readonly naming?: UnixNaming;
  /** where warnings about the props go, once each (default: the host's scope). */
  readonly warnScope?: Construct;
  /** the scope of the host's Access resources (`<host>/Access`), created by the caller. */
  readonly accessScope: Construct;
  /** when set, a poller waits for the tunnel after these and the host's own resources. */
  readonly readiness?: { readonly timeoutSec: number; readonly script?: TerraformAsset; readonly dependsOn: ITerraformDependable[] };
}

/**
 * The Access application a host is reached through: its own, defined by the builder in the
 * host's Access scope, or one already defined and shared with other hosts (`shared`).
 */
export type HostApplication<Own, Shared> = { readonly own: Own } | { readonly shared: Shared };

/**
 * the host's readiness wait when the spec asks for one: after the droplet, the tunnel's config,
 * the caller's dependencies and `last` (what makes the host reachable in its mode).
 */
export function defineHostReadiness(
  scope: Construct, spec: HostSpec, tunnel: { tunnelId: string; config: ITerraformDependable }, droplet: Droplet, last: ITerraformDependable,
) {
  if (spec.readiness === undefined) return undefined;
  return defineReadinessWait(scope, {
    accountId: spec.accountId,
    tunnelId: tunnel.tunnelId,
    dropletId: droplet.id,
    hostname: spec.hostname,
    timeoutSec: spec.readiness.timeoutSec,
    dependsOn: [droplet, tunnel.config, ...spec.readiness.dependsOn, last],
  }, spec.readiness.script);
}
