// bench child (b): the hand-written baseline. It defines the same resources as
// `AccessDropletFleet` with `count: N` (same types and counts, same attribute values, same
// construct paths so the two cdk.tf.json files can be compared byte for byte), using only the raw
// provider classes imported by deep path, and writes user_data as a plain template literal around
// the static fragments it reads once from cloud-init/ (it never calls the library). It
// reads attributes where it uses them (`tunnel.id` three times per host, `tag.name` per droplet),
// as hand-written cdktf code usually does; it does no validation.
// usage: node bench/baseline.js <N> <outdir> [infrastructure]; prints one JSON line with phase timings and maxRSS.
'use strict';
const t0 = performance.now();
const { App, Fn, TerraformOutput, TerraformStack } = require('cdktf');
const { Construct } = require('constructs');
const fs = require('fs');
const path = require('path');
const { CloudflareProvider } = require('@cdktf/provider-cloudflare/lib/provider');
const { DataCloudflareZeroTrustTunnelCloudflaredToken } = require('@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token');
const { DnsRecord } = require('@cdktf/provider-cloudflare/lib/dns-record');
const { ZeroTrustAccessApplication } = require('@cdktf/provider-cloudflare/lib/zero-trust-access-application');
const { ZeroTrustAccessPolicy } = require('@cdktf/provider-cloudflare/lib/zero-trust-access-policy');
const { ZeroTrustAccessShortLivedCertificate } = require('@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate');
const { ZeroTrustTunnelCloudflared } = require('@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared');
const { ZeroTrustTunnelCloudflaredConfigA } = require('@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config');
const { DigitaloceanProvider } = require('@cdktf/provider-digitalocean/lib/provider');
const { Droplet } = require('@cdktf/provider-digitalocean/lib/droplet');
const { Firewall } = require('@cdktf/provider-digitalocean/lib/firewall');
const { Tag } = require('@cdktf/provider-digitalocean/lib/tag');
const { ZeroTrustAccessInfrastructureTarget } = require('@cdktf/provider-cloudflare/lib/zero-trust-access-infrastructure-target');
const { ZeroTrustTunnelCloudflaredRoute } = require('@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-route');
const tRequire = performance.now();

const n = Number(process.argv[2]);
const outdir = process.argv[3];
const infrastructure = process.argv[4] === 'infrastructure';
const INFRASTRUCTURE_CA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHkXtHcJDRNjTVr0wmS6nQ1W8Wm2W7mCV/Pv0Ykq8Qmly0eZHs4rz7MTeW3n8IzW9yJy9Zm3xJb7c9b4dH5W0Zk= open-ssh-ca@cloudflareaccess.org';
if (!Number.isInteger(n) || n < 1 || !outdir) {
  throw new Error('usage: node bench/baseline.js <N> <outdir>');
}

const accountId = '0123456789abcdef0123456789abcdef';
const zoneId = 'fedcba9876543210fedcba9876543210';
const everywhere = ['0.0.0.0/0', '::/0'];

// the static fragments (sshd drop-in, units, scripts) come from the package's cloud-init/ files,
// read once and indented for their YAML block scalars, as a user copying them into a project
// would; the cloud-config around them is written out by hand below.
const fragment = (name) => fs.readFileSync(path.join(__dirname, '..', 'cloud-init', name), 'utf8')
  .replace(/\n$/, '').split('\n').map((l) => (l ? `      ${l}` : l)).join('\n');
const sshdDropIn = fragment('sshd-access.conf');
const cloudflaredUnit = fragment('cloudflared-access.service');
const guardScript = fragment('metadata-guard.sh');
const guardUnit = fragment('cdktf-metadata-guard.service');
const guardUserSlice = fragment('metadata-guard-user-slice.conf');
const guardRequires = fragment('metadata-guard-requires.conf');
const guardNftables = fragment('metadata-guard-nftables.conf');
const setupScript = fragment('setup.sh');

function userData(caContent, tunnelToken, jdoePrincipal) {
  return `#cloud-config
# Rendered by cdktf-access-droplet. cloud-init applies it once, at the droplet's first boot;
# DigitalOcean cannot change user_data afterwards (a change replaces the droplet).
ssh_pwauth: false
users:
  - name: srhea
    gecos: "srhea@cloudflare.com"
    shell: /bin/bash
    lock_passwd: true
  - name: jdoe
    gecos: "jane.doe@example.com"
    shell: /bin/bash
    lock_passwd: true
    sudo: "ALL=(ALL) NOPASSWD:ALL"
write_files:
  - path: /etc/ssh/ca.pub
    owner: root:root
    permissions: "0644"
    content: ${caContent}
  - path: /etc/ssh/sshd_config.d/10-cloudflare-access.conf
    owner: root:root
    permissions: "0644"
    content: |
${sshdDropIn}
  - path: /etc/ssh/auth_principals/srhea
    owner: root:root
    permissions: "0644"
    content: "srhea\\n"
  - path: /etc/ssh/auth_principals/jdoe
    owner: root:root
    permissions: "0644"
    content: "${jdoePrincipal}\\n"
  - path: /etc/cloudflared-access/tunnel.env
    owner: root:root
    permissions: "0600"
    content: ${Fn.jsonencode(`TUNNEL_TOKEN=${tunnelToken}\n`)}
  - path: /etc/systemd/system/cloudflared-access.service
    owner: root:root
    permissions: "0644"
    content: |
${cloudflaredUnit}
  - path: /usr/local/lib/cdktf-access-droplet/metadata-guard
    owner: root:root
    permissions: "0755"
    content: |
${guardScript}
  - path: /etc/systemd/system/cdktf-metadata-guard.service
    owner: root:root
    permissions: "0644"
    content: |
${guardUnit}
  - path: /etc/systemd/system/user.slice.d/cdktf-metadata-guard.conf
    owner: root:root
    permissions: "0644"
    content: |
${guardUserSlice}
  - path: /etc/systemd/system/ssh.service.d/cdktf-metadata-guard.conf
    owner: root:root
    permissions: "0644"
    content: |
${guardRequires}
  - path: /etc/systemd/system/cloudflared-access.service.d/cdktf-metadata-guard.conf
    owner: root:root
    permissions: "0644"
    content: |
${guardRequires}
  - path: /etc/systemd/system/nftables.service.d/cdktf-metadata-guard.conf
    owner: root:root
    permissions: "0644"
    content: |
${guardNftables}
  - path: /usr/local/lib/cdktf-access-droplet/setup
    owner: root:root
    permissions: "0755"
    content: |
${setupScript}
runcmd:
  - ["/usr/local/lib/cdktf-access-droplet/setup","https://pkg.cloudflare.com/cloudflare-main.gpg","https://pkg.cloudflare.com/cloudflared","any","main"]
`;
}

function infrastructureSshConfig(hostname, privateAddress) {
  return `# Access for Infrastructure: connect with the WARP client enrolled in your Zero Trust organization.
Host ${hostname}
  HostName ${privateAddress}
`;
}

function sshConfig(hostname) {
  return `Match host ${hostname} exec "cloudflared access ssh-gen --hostname %h"
  ProxyCommand cloudflared access ssh --hostname %h
  IdentityFile ~/.cloudflared/%h-cf_key
  CertificateFile ~/.cloudflared/%h-cf_key-cert.pub
`;
}

const app = new App({ outdir });
const stack = new TerraformStack(app, 'bench');
new CloudflareProvider(stack, 'cloudflare', {});
new DigitaloceanProvider(stack, 'digitalocean', {});

const fleet = new Construct(stack, 'Fleet');
const access = new Construct(fleet, 'Access');
const policy = infrastructure ? undefined : new ZeroTrustAccessPolicy(access, 'AccessPolicy', {
  accountId,
  name: 'web allow',
  decision: 'allow',
  include: [
    { email: { email: 'srhea@cloudflare.com' } },
    { email: { email: 'jane.doe@example.com' } },
  ],
});
const tag = new Tag(fleet, 'Tag', { name: 'access-fleet-web' });
new Firewall(fleet, 'Firewall', {
  name: 'web-fw',
  tags: [tag.name],
  outboundRule: [
    { protocol: 'tcp', portRange: 'all', destinationAddresses: everywhere },
    { protocol: 'udp', portRange: 'all', destinationAddresses: everywhere },
    { protocol: 'icmp', destinationAddresses: everywhere },
  ],
});

const hostsScope = new Construct(fleet, 'Hosts');
const hostnames = [];
const privateAddresses = [];
for (let i = 1; i <= n; i++) {
  const hostname = `web-${i}.widgetcorp.tech`;
  hostnames.push(hostname);
  const hostId = hostname.replace(/\./g, '-');
  const hostScope = new Construct(hostsScope, hostId);
  const accessScope = new Construct(hostScope, 'Access');
  const tunnelScope = new Construct(hostScope, 'Tunnel');
  const tunnel = new ZeroTrustTunnelCloudflared(tunnelScope, 'Tunnel', {
    accountId,
    name: hostId,
    configSrc: 'cloudflare',
  });
  new ZeroTrustTunnelCloudflaredConfigA(tunnelScope, 'Config', {
    accountId,
    tunnelId: tunnel.id,
    config: {
      ingress: infrastructure
        ? [{ service: 'http_status:404' }]
        : [{ hostname, service: 'ssh://localhost:22' }, { service: 'http_status:404' }],
    },
  });
  const token = new DataCloudflareZeroTrustTunnelCloudflaredToken(tunnelScope, 'Token', {
    accountId,
    tunnelId: tunnel.id,
  });
  if (infrastructure) {
    new ZeroTrustAccessApplication(accessScope, 'AccessApp', {
      accountId,
      name: `web ${hostname}`,
      type: 'infrastructure',
      targetCriteria: [{ port: 22, protocol: 'SSH', targetAttributes: { hostname: [hostname] } }],
      policies: [['srhea@cloudflare.com', 'srhea'], ['jane.doe@example.com', 'jdoe']].map(([email, unixName], p) => ({
        name: `${hostId} ${unixName}`,
        decision: 'allow',
        precedence: p + 1,
        include: [{ email: { email } }],
        connectionRules: { ssh: { usernames: [unixName], allowEmailAlias: false } },
      })),
    });
    const droplet = new Droplet(hostScope, 'Droplet', {
      name: hostname,
      image: 'ubuntu-24-04-x64',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      monitoring: true,
      tags: [tag.name],
      userData: userData(JSON.stringify(`${INFRASTRUCTURE_CA}\n`), token.token, 'jdoe'),
    });
    new ZeroTrustTunnelCloudflaredRoute(tunnelScope, 'Route', {
      accountId,
      tunnelId: tunnel.id,
      network: `${droplet.ipv4AddressPrivate}/32`,
      comment: `SSH to ${hostname} (cdktf-access-droplet)`,
    });
    new ZeroTrustAccessInfrastructureTarget(accessScope, 'Target', {
      accountId,
      hostname,
      ip: { ipv4: { ipAddr: droplet.ipv4AddressPrivate } },
    });
    privateAddresses.push(droplet.ipv4AddressPrivate);
  } else {
    new DnsRecord(tunnelScope, 'DnsRecord', {
      zoneId,
      name: hostname,
      type: 'CNAME',
      content: `${tunnel.id}.cfargotunnel.com`,
      proxied: true,
      ttl: 1,
      comment: `Cloudflare Tunnel for ${hostId} (cdktf-access-droplet)`,
    });
    const application = new ZeroTrustAccessApplication(accessScope, 'AccessApp', {
      accountId,
      name: `web ${hostname}`,
      type: 'self_hosted',
      domain: hostname,
      destinations: [{ type: 'public', uri: hostname }],
      policies: [{ id: policy.id, precedence: 1 }],
    });
    const certificate = new ZeroTrustAccessShortLivedCertificate(accessScope, 'ShortLivedCertificate', {
      accountId,
      appId: application.id,
    });
    new Droplet(hostScope, 'Droplet', {
      name: hostname,
      image: 'ubuntu-24-04-x64',
      region: 'nyc3',
      size: 's-1vcpu-1gb',
      monitoring: true,
      tags: [tag.name],
      userData: userData(Fn.jsonencode(`${certificate.publicKey}\n`), token.token, 'jane.doe'),
    });
  }
}
const sshConfigs = infrastructure ? hostnames.map((h, i) => infrastructureSshConfig(h, privateAddresses[i])) : hostnames.map(sshConfig);
new TerraformOutput(fleet, 'Hostnames', { value: hostnames, description: 'The hostnames to SSH to through Cloudflare Access' });
new TerraformOutput(fleet, 'SshConfig', { value: sshConfigs.join('\n'), description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>' });
const tConstruct = performance.now();
app.synth();
const tSynth = performance.now();

require('./report').report('baseline', n, { t0, tRequire, tConstruct, tSynth });
