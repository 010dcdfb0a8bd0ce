// bench child (b): the hand-written baseline. It defines the same resources as
// `AccessDropletFleet` with `count: N` (same types and counts, same attribute values, same
// construct paths so the two cdk.tf.json files can be compared byte for byte), using only the raw
// provider classes imported by deep path, and writes user_data as a plain template literal. It
// reads attributes where it uses them (`tunnel.id` three times per host, `tag.name` per droplet),
// as hand-written cdktf code usually does; it does no validation.
// usage: node bench/baseline.js <N> <outdir> [infrastructure]; prints one JSON line with phase timings and maxRSS.
'use strict';
const t0 = performance.now();
const { App, Fn, TerraformOutput, TerraformStack } = require('cdktf');
const { Construct } = require('constructs');
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
      # Written by cdktf-access-droplet. sshd keeps the FIRST value it reads for each keyword and
      # includes sshd_config.d/*.conf in name order, so this file sorts before 50-cloud-init.conf.
      PubkeyAuthentication yes
      TrustedUserCAKeys /etc/ssh/ca.pub
      # Cloudflare Access signs certificates for the email's local part; this maps each Unix user to
      # the principals it accepts, so a certificate opens only the account it was issued for.
      AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u
      # Only Access certificates open accounts: a key added to ~/.ssh/authorized_keys would outlive
      # every short-lived certificate and the Access policy's say over who gets in.
      AuthorizedKeysFile none
      PasswordAuthentication no
      KbdInteractiveAuthentication no
      PermitRootLogin no
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
      [Unit]
      Description=Cloudflare Tunnel to this host's SSH server (cdktf-access-droplet)
      Documentation=https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/
      After=network-online.target
      Wants=network-online.target

      [Service]
      Type=notify
      # The tunnel token comes from a root-only file, never from the command line: /proc/PID/cmdline
      # is readable by every local user, /proc/PID/environ only by the service's own user.
      EnvironmentFile=/etc/cloudflared-access/tunnel.env
      ExecStart=/usr/bin/cloudflared --no-autoupdate tunnel run
      Restart=on-failure
      RestartSec=5s
      TimeoutStartSec=0
      DynamicUser=yes
      NoNewPrivileges=yes
      ProtectSystem=strict
      ProtectHome=yes
      PrivateTmp=yes
      ProtectKernelTunables=yes
      ProtectKernelModules=yes
      ProtectControlGroups=yes
      ProtectKernelLogs=yes
      ProtectClock=yes
      LockPersonality=yes
      RestrictNamespaces=yes
      RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
      # the tunnel needs no capability; without CAP_NET_RAW cloudflared only skips its ICMP proxy.
      CapabilityBoundingSet=

      [Install]
      WantedBy=multi-user.target
  - path: /usr/local/lib/cdktf-access-droplet/metadata-guard
    owner: root:root
    permissions: "0755"
    content: |
      #!/bin/sh
      # Written by cdktf-access-droplet; cdktf-metadata-guard.service runs it at every boot.
      # DigitalOcean's metadata service (169.254.169.254) serves this droplet's user_data, tunnel token
      # included, to any local process. Reject connections to it from login users (UID 1000 and up:
      # every Access user, and cloudflared's dynamic user); root and system services such as
      # DigitalOcean's agents keep it.
      set -eu
      if command -v nft >/dev/null 2>&1; then
        nft -f - <<'RULES'
      table inet cdktf_metadata_guard
      delete table inet cdktf_metadata_guard
      table inet cdktf_metadata_guard {
        chain output {
          type filter hook output priority 0; policy accept;
          ip daddr 169.254.169.254 meta skuid >= 1000 reject
        }
      }
      RULES
      elif command -v iptables >/dev/null 2>&1; then
        rule="OUTPUT -d 169.254.169.254/32 -m owner --uid-owner 1000-4294967294 -j REJECT"
        # shellcheck disable=SC2086 # the rule is split into arguments on purpose.
        iptables -w -C $rule 2>/dev/null || iptables -w -I $rule
      else
        echo "cdktf-access-droplet: neither nft nor iptables is installed; cannot keep the metadata service from login users" >&2
        exit 1
      fi
  - path: /etc/systemd/system/cdktf-metadata-guard.service
    owner: root:root
    permissions: "0644"
    content: |
      [Unit]
      Description=Keep the metadata service (user_data, with the tunnel token) from login users (cdktf-access-droplet)
      DefaultDependencies=no
      Wants=network-pre.target
      Before=network-pre.target
      After=local-fs.target

      [Service]
      Type=oneshot
      RemainAfterExit=yes
      ExecStart=/usr/local/lib/cdktf-access-droplet/metadata-guard

      [Install]
      WantedBy=multi-user.target
  - path: /usr/local/lib/cdktf-access-droplet/setup
    owner: root:root
    permissions: "0755"
    content: |
      #!/bin/sh
      # Written by cdktf-access-droplet; cloud-init runs it once, at first boot, from runcmd.
      # Usage: setup KEY_URL REPOSITORY_URL SUITE COMPONENT
      # It stops at the first failing step, so \`cloud-init status\` reports error instead of done.
      set -eu
      key_url=$1
      repository_url=$2
      suite=$3
      component=$4
      export DEBIAN_FRONTEND=noninteractive
      log() { echo "cdktf-access-droplet: $*"; }

      # the metadata guard first, when the cloud-config includes it: it must hold before anyone logs in.
      if [ -f /etc/systemd/system/cdktf-metadata-guard.service ]; then
        log "keeping the metadata service from login users"
        systemctl daemon-reload
        systemctl enable --now cdktf-metadata-guard.service
      fi

      # sshd next: the Access settings are live before the tunnel can bring anyone to port 22.
      log "restarting ssh with the Access drop-in"
      systemctl restart ssh

      # cloudflared from its signed apt repository (Cloudflare's, or a mirror given in the props).
      log "adding the cloudflared apt repository $repository_url ($suite $component)"
      tmp=$(mktemp)
      curl --fail --silent --show-error --location --retry 10 --retry-delay 3 --retry-all-errors \\
        --output "$tmp" "$key_url"
      keyring=/usr/share/keyrings/cloudflared-archive-keyring
      # apt reads an ASCII-armoured key only from a .asc file and a binary one only from .gpg.
      if grep -q -e '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$tmp"; then keyring=$keyring.asc; else keyring=$keyring.gpg; fi
      install -m 0644 -o root -g root "$tmp" "$keyring"
      rm -f "$tmp"
      echo "deb [signed-by=$keyring] $repository_url $suite $component" > /etc/apt/sources.list.d/cloudflared.list
      log "installing cloudflared"
      # refresh only this source: an unreachable unrelated source must not stop the install.
      apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=5 \\
        -o Dir::Etc::sourcelist=sources.list.d/cloudflared.list -o Dir::Etc::sourceparts=- \\
        -o APT::Get::List-Cleanup=0 update
      apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends cloudflared

      chmod 0700 /etc/cloudflared-access
      log "starting cloudflared-access.service"
      systemctl daemon-reload
      # --no-block: the unit is ready only once the tunnel connects, which must not hold up first boot.
      systemctl enable --now --no-block cloudflared-access.service
      log "done"
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
