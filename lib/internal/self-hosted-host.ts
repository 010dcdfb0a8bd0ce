// one host reached through a self-hosted Access application and its short-lived certificate CA:
// tunnel with a public hostname, proxied DNS record, the application (own or shared), droplet.
import { Construct } from 'constructs';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { CertificatePrincipals } from '../cloud-init';
import { ApplicationOptions, defineAccessApplication } from './access';
import { defineDroplet } from './droplet';
import { defineHostReadiness, HostApplication, HostSpec } from './host';
import { defineDnsRecord, defineTunnel } from './tunnel';

/** a self-hosted application and the CA that signs its certificates. */
export interface SelfHostedApplication {
  readonly application: ZeroTrustAccessApplication;
  readonly certificate: ZeroTrustAccessShortLivedCertificate;
}

/** what an application of a host's own needs besides its hostname. */
export type SelfHostedApplicationSpec = Omit<ApplicationOptions, 'hostnames'> & { policyIds: string[]; sessionDuration?: string; caVersion?: string };

/** defines one self-hosted host in `scope` (ids Tunnel/{Tunnel,Config,Token,DnsRecord}, Access/..., Droplet, WaitForReady). */
export function defineSelfHostedHost(
  scope: Construct,
  opts: HostSpec & { zoneId: string; application: HostApplication<SelfHostedApplicationSpec, SelfHostedApplication> },
) {
  const tunnel = defineTunnel(new Construct(scope, 'Tunnel'), { accountId: opts.accountId, hostname: opts.hostname, name: opts.name });
  const dnsRecord = defineDnsRecord(tunnel.scope, { zoneId: opts.zoneId, hostname: opts.hostname, name: opts.name, tunnelId: tunnel.tunnelId });
  const app: SelfHostedApplication = 'shared' in opts.application
    ? opts.application.shared
    : defineAccessApplication(opts.accessScope, { ...opts.application.own, hostnames: [opts.hostname] });
  const droplet = defineDroplet(scope, 'Droplet', {
    hostname: opts.hostname,
    settings: opts.settings,
    users: opts.users,
    naming: opts.naming,
    warnScope: opts.warnScope,
    certificatePrincipals: CertificatePrincipals.EMAIL_LOCAL_PART,
    caPublicKey: app.certificate.publicKey,
    tunnelToken: tunnel.token.token,
  });
  const readinessWait = defineHostReadiness(scope, opts, tunnel, droplet, dnsRecord);
  return {
    hostname: opts.hostname,
    tunnel: tunnel.tunnel,
    tunnelId: tunnel.tunnelId,
    tunnelConfig: tunnel.config,
    tunnelToken: tunnel.token,
    dnsRecord,
    accessApplication: app.application,
    shortLivedCertificate: app.certificate,
    droplet,
    readinessWait,
  };
}
