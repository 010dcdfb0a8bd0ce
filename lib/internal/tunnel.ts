// the tunnel side of a host: the tunnel, its one config, its token, and how clients reach it
// (a public DNS record, or a private route).
import { Construct } from 'constructs';
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { ZeroTrustTunnelCloudflaredConfigA } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config';
import { ZeroTrustTunnelCloudflaredRoute } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-route';
import { literal } from './escape';

/** Cloudflare's default limit on cloudflared tunnels per account. */
export const TUNNELS_PER_ACCOUNT = 1000;
/** Cloudflare's default limit on tunnel routes (CIDR and hostname routes) per account. */
export const TUNNEL_ROUTES_PER_ACCOUNT = 1000;

/**
 * A remotely-managed tunnel (config_src cloudflare, no tunnel_secret: a secret makes provider v5
 * replace the tunnel on every plan, cloudflare/terraform-provider-cloudflare#5450), its one
 * config (the config is one document: two would overwrite each other, #5791) with, for a public
 * hostname, its ingress rule, and the token.
 */
export function defineTunnel(
  scope: Construct,
  opts: { accountId: string; hostname: string; name: string; publicHostname?: boolean },
) {
  const publicHostname = opts.publicHostname ?? true;
  const tunnel = new ZeroTrustTunnelCloudflared(scope, 'Tunnel', literal({
    accountId: opts.accountId,
    name: opts.name,
    configSrc: 'cloudflare',
  }));
  // one token for the id: every attribute read creates a new one, each with a captured stack trace.
  const tunnelId = tunnel.id;
  const config = new ZeroTrustTunnelCloudflaredConfigA(scope, 'Config', literal({
    accountId: opts.accountId,
    tunnelId,
    config: {
      ingress: [
        ...(publicHostname ? [{ hostname: opts.hostname, service: 'ssh://localhost:22' }] : []),
        { service: 'http_status:404' },
      ],
    },
  }));
  const token = new DataCloudflareZeroTrustTunnelCloudflaredToken(scope, 'Token', literal({
    accountId: opts.accountId,
    tunnelId,
  }));
  return { scope, tunnel, tunnelId, config, token };
}

/** the proxied CNAME from a public hostname to its tunnel (ttl 1: required when proxied). */
export function defineDnsRecord(scope: Construct, opts: { zoneId: string; hostname: string; name: string; tunnelId: string }) {
  return new DnsRecord(scope, 'DnsRecord', literal({
    zoneId: opts.zoneId,
    name: opts.hostname,
    type: 'CNAME',
    content: `${opts.tunnelId}.cfargotunnel.com`,
    proxied: true,
    ttl: 1,
    comment: `Cloudflare Tunnel for ${opts.name} (cdktf-access-droplet)`,
  }));
}

/** the private route from the WARP clients of the account to one address behind the tunnel. */
export function defineTunnelRoute(
  scope: Construct,
  opts: { accountId: string; tunnelId: string; privateAddress: string; virtualNetworkId?: string; hostname: string },
) {
  return new ZeroTrustTunnelCloudflaredRoute(scope, 'Route', literal({
    accountId: opts.accountId,
    tunnelId: opts.tunnelId,
    network: `${opts.privateAddress}/32`,
    virtualNetworkId: opts.virtualNetworkId,
    comment: `SSH to ${opts.hostname} (cdktf-access-droplet)`,
  }));
}
