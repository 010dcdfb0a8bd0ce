// one host reached through Access for Infrastructure: tunnel without a public hostname, the
// infrastructure application (own or shared), droplet trusting the account's SSH CA, a private
// route to the droplet and a target at its address. No certificate CA, no DNS record.
import { Construct } from 'constructs';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessInfrastructureTarget } from '@cdktf/provider-cloudflare/lib/zero-trust-access-infrastructure-target';
import { CertificatePrincipals } from '../cloud-init';
import { AccessRule } from '../access-rule';
import { ApplicationOptions, defineInfrastructureApplication } from './access';
import { defineDroplet } from './droplet';
import { defineHostReadiness, HostApplication, HostSpec } from './host';
import { defineTunnel, defineTunnelRoute } from './tunnel';
import { literal } from './escape';

/** what an infrastructure application of a host's own needs besides its hostname. */
export type InfrastructureApplicationSpec = Omit<ApplicationOptions, 'hostnames'> & {
  policyName: string; users: { email: string; unixName: string }[]; require: AccessRule[]; exclude: AccessRule[];
};

/** defines one infrastructure host in `scope` (ids Tunnel/{Tunnel,Config,Token,Route}, Access/{AccessApp,Target}, Droplet, WaitForReady). */
export function defineInfrastructureHost(
  scope: Construct,
  opts: HostSpec & {
    caPublicKey: string; virtualNetworkId?: string;
    application: HostApplication<InfrastructureApplicationSpec, ZeroTrustAccessApplication>;
  },
) {
  const tunnel = defineTunnel(new Construct(scope, 'Tunnel'), {
    accountId: opts.accountId, hostname: opts.hostname, name: opts.name, publicHostname: false,
  });
  // the application finds the droplet through its target (below) by hostname.
  const application = 'shared' in opts.application
    ? opts.application.shared
    : defineInfrastructureApplication(opts.accessScope, { ...opts.application.own, hostnames: [opts.hostname] });
  const droplet = defineDroplet(scope, 'Droplet', {
    hostname: opts.hostname,
    settings: opts.settings,
    users: opts.users,
    naming: opts.naming,
    warnScope: opts.warnScope,
    certificatePrincipals: CertificatePrincipals.UNIX_NAME,
    caPublicKey: opts.caPublicKey,
    tunnelToken: tunnel.token.token,
  });
  const privateAddress = droplet.ipv4AddressPrivate;
  const tunnelRoute = defineTunnelRoute(tunnel.scope, {
    accountId: opts.accountId, tunnelId: tunnel.tunnelId, privateAddress, virtualNetworkId: opts.virtualNetworkId, hostname: opts.hostname,
  });
  const infrastructureTarget = new ZeroTrustAccessInfrastructureTarget(opts.accessScope, 'Target', literal({
    accountId: opts.accountId,
    hostname: opts.hostname,
    ip: { ipv4: { ipAddr: privateAddress, virtualNetworkId: opts.virtualNetworkId } },
  }));
  const readinessWait = defineHostReadiness(scope, opts, tunnel, droplet, tunnelRoute);
  return {
    hostname: opts.hostname,
    tunnel: tunnel.tunnel,
    tunnelId: tunnel.tunnelId,
    tunnelConfig: tunnel.config,
    tunnelToken: tunnel.token,
    tunnelRoute,
    infrastructureTarget,
    accessApplication: application,
    privateAddress,
    droplet,
    readinessWait,
  };
}
