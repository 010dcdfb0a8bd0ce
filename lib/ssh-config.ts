/**
 * The `~/.ssh/config` block that `cloudflared access ssh-config --hostname H --short-lived-cert`
 * prints for each hostname: `ssh-gen` fetches a short-lived certificate before each connection
 * and `access ssh` carries the session through Cloudflare.
 *
 * @param hostnames the Access application hostnames
 * @param cloudflared the cloudflared command on the client
 */
export function renderSshConfig(hostnames: string[], cloudflared = 'cloudflared'): string {
  return hostnames
    .map((h) => [
      `Match host ${h} exec "${cloudflared} access ssh-gen --hostname %h"`,
      `  ProxyCommand ${cloudflared} access ssh --hostname %h`,
      '  IdentityFile ~/.cloudflared/%h-cf_key',
      '  CertificateFile ~/.cloudflared/%h-cf_key-cert.pub',
      '',
    ].join('\n'))
    .join('\n');
}

/**
 * The `~/.ssh/config` entry for an Access for Infrastructure target: the WARP client routes the
 * private address through the tunnel and Cloudflare checks the SSH username against the policy.
 *
 * @param hostname the target's hostname
 * @param privateAddress the droplet's private IPv4 address
 */
export function renderInfrastructureSshConfig(hostname: string, privateAddress: string): string {
  return [
    '# Access for Infrastructure: connect with the WARP client enrolled in your Zero Trust organization.',
    `Host ${hostname}`,
    `  HostName ${privateAddress}`,
    '',
  ].join('\n');
}

/**
 * The client side: `~/.ssh/config` entries for Access-protected hosts.
 */
export class SshConfig {
  /**
   * What `cloudflared access ssh-config --hostname H --short-lived-cert` prints, for each hostname.
   *
   * @param hostnames the Access application hostnames
   * @param cloudflared the cloudflared command on the client (default "cloudflared")
   */
  public static render(hostnames: string[], cloudflared?: string): string {
    return renderSshConfig(hostnames, cloudflared);
  }

  /**
   * A `Host` entry for an Access for Infrastructure target, reached through WARP.
   *
   * @param hostname the target's hostname
   * @param privateAddress the droplet's private IPv4 address
   */
  public static renderInfrastructure(hostname: string, privateAddress: string): string {
    return renderInfrastructureSshConfig(hostname, privateAddress);
  }

  private constructor() {}
}
