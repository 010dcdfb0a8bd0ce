// Cloudflare Tunnel, built from the plan (the manual procedure's "Configure Argo Tunnel"): per host
// a remotely-managed tunnel, its one ingress config and its token; and how clients reach it: a
// proxied CNAME for a public hostname, or a private route and an infrastructure target.
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustAccessInfrastructureTarget } from '@cdktf/provider-cloudflare/lib/zero-trust-access-infrastructure-target';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { ZeroTrustTunnelCloudflaredConfigA } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config';
import { ZeroTrustTunnelCloudflaredRoute } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-route';
import { TerraformLocal } from 'cdktf';
import { escapeTerraformTemplate, literal } from '../internal/escape';
import { lean } from './lean';
import { interpolated, localReference } from './references';
import { BuildContext } from './context';

/**
 * Per host, in its `Tunnel` scope: a remotely-managed tunnel (config_src cloudflare, no
 * tunnel_secret: a secret makes provider v5 replace the tunnel on every plan,
 * cloudflare/terraform-provider-cloudflare#5450), its one config (the config is one document:
 * two would overwrite each other, #5791) with, for a public hostname, its ingress rule, the token,
 * and the proxied CNAME from the public hostname to the tunnel (ttl 1: required when proxied).
 */
export function buildTunnels(ctx: BuildContext): void {
  const accountId = ctx.plan.accountId;
  const hosts = ctx.plan.hosts;
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i];
    const scope = ctx.scope([...host.path, 'Tunnel']);
    const tunnel = lean(new ZeroTrustTunnelCloudflared(scope, 'Tunnel', literal({ accountId, name: host.tunnelName, configSrc: 'cloudflare' })));
    const tunnelId = tunnel.id;
    const publicHostname = host.reach === 'public-hostname';
    const built = ctx.hosts[i];
    built.tunnel = tunnel;
    built.tunnelId = tunnelId;
    // the build's own references are plain expressions (./references.ts): not escaped, the rest is.
    const tunnelIdText = interpolated(tunnel, 'id');
    built.tunnelConfig = lean(new ZeroTrustTunnelCloudflaredConfigA(scope, 'Config', {
      ...literal({ accountId }),
      tunnelId: tunnelIdText,
      config: {
        ingress: publicHostname
          ? [{ hostname: escapeTerraformTemplate(host.hostname), service: 'ssh://localhost:22', originRequest: originOf(ctx, i) }, { service: 'http_status:404' }]
          : [{ service: 'http_status:404' }],
      },
    }));
    // the token reads the tunnel's id through a local value. Terraform defers reading a data
    // source until apply when a managed resource it references has ANY planned change (Terraform
    // 1.11 transform_reference.go dataDependsOn), so `tunnel_id = tunnel.id` would make the token
    // unknown on an unrelated in-place change of the tunnel (a name put back), and the droplet,
    // whose user_data holds it, would be replaced. A local is not a managed resource; a new tunnel
    // still makes the id unknown, and the droplet is replaced, as it must be.
    // No depends_on and no conditions on the data source: either brings the tunnel back.
    const tunnelIdLocal = new TerraformLocal(scope, 'TunnelId', tunnelIdText);
    built.tunnelToken = lean(new DataCloudflareZeroTrustTunnelCloudflaredToken(scope, 'Token', {
      ...literal({ accountId }),
      tunnelId: `\${${localReference(tunnelIdLocal)}}`,
    }));
    if (publicHostname) {
      built.dnsRecord = lean(new DnsRecord(scope, 'DnsRecord', {
        ...literal({
          zoneId: host.zoneId as string,
          name: host.hostname,
          type: 'CNAME',
          proxied: true,
          ttl: 1,
          comment: `Cloudflare Tunnel for ${host.tunnelName} (cdktf-access-droplet)`,
        }),
        content: `${tunnelIdText}.cfargotunnel.com`,
      }));
    }
  }
}

/**
 * "Protect with Access" for a public hostname: cloudflared itself refuses a connection without a
 * valid Access token for the host's application (its audience, for the account's team), so sshd
 * stays out of reach even if the application is deleted or misconfigured. cloudflared attaches
 * this check to any rule with `access.required`, whatever the service (ingress/ingress.go), and
 * runs it before it proxies the websocket stream that `cloudflared access ssh` and the browser
 * terminal open (proxy/proxy.go ProxyHTTP).
 */
function originOf(ctx: BuildContext, host: number) {
  const aud = ctx.hostApplications[host].aud;
  if (aud === undefined || ctx.teamName === undefined) return undefined;
  // both already as they go into the config: expressions, or the given team name escaped.
  return { access: { required: true, audTag: [aud], teamName: ctx.teamName } };
}

/**
 * Per infrastructure host: the private route from the WARP clients of the account to the
 * droplet's address behind its tunnel, and the infrastructure target at that address (which the
 * application finds by hostname).
 */
export function buildPrivateRoutes(ctx: BuildContext): void {
  const accountId = ctx.plan.accountId;
  const hosts = ctx.plan.hosts;
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i];
    if (host.reach !== 'private-route') continue;
    const built = ctx.hosts[i];
    const privateAddress = built.droplet!.ipv4AddressPrivate;
    built.privateAddress = privateAddress;
    built.tunnelRoute = lean(new ZeroTrustTunnelCloudflaredRoute(ctx.scope([...host.path, 'Tunnel']), 'Route', {
      ...literal({
        accountId,
        network: `${privateAddress}/32`,
        virtualNetworkId: host.virtualNetworkId,
        comment: `SSH to ${host.hostname} (cdktf-access-droplet)`,
      }),
      tunnelId: interpolated(built.tunnel!, 'id'),
    }));
    built.infrastructureTarget = lean(new ZeroTrustAccessInfrastructureTarget(ctx.scope(host.accessPath), 'Target', literal({
      accountId,
      hostname: host.hostname,
      ip: { ipv4: { ipAddr: privateAddress, virtualNetworkId: host.virtualNetworkId } },
    })));
  }
}
