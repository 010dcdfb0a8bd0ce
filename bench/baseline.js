// bench child (b): the hand-written baseline. It defines the same resources as
// `AccessDropletFleet` with `count: N` (same types and counts, same attribute values, same
// construct paths so the two cdk.tf.json files can be compared byte for byte), using only the raw
// provider classes imported by deep path and cdktf; it never calls the library. The cloud-config
// is written out by hand around the static fragments it reads once from cloud-init/, and held
// once in a Terraform local (its text between the CA key and the tunnel token) that each
// droplet's user_data joins with its own CA key and token. The users travel in the droplets'
// `cdad:` account tags, encoded here by hand. It reads attributes where it uses them (`tunnel.id`
// three times per host, `tag.name` per droplet, `application.aud` per ingress rule), as
// hand-written cdktf code usually does; it does no validation.
// usage: node bench/baseline.js <N> <outdir> [infrastructure]; prints one JSON line with phase timings and maxRSS.
'use strict';
const t0 = performance.now();
const { App, Fn, ref, TerraformLocal, TerraformOutput, TerraformStack, Token } = require('cdktf');
const { Construct } = require('constructs');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { CloudflareProvider } = require('@cdktf/provider-cloudflare/lib/provider');
const { DataCloudflareZeroTrustOrganization } = require('@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-organization');
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
const users = [
  { name: 'srhea', email: 'srhea@cloudflare.com', sudo: false },
  { name: 'jdoe', email: 'jane.doe@example.com', sudo: true },
];

// the static fragments (sshd drop-in, units, scripts) come from the package's cloud-init/ files,
// read once and indented for their YAML block scalars, as a user copying them into a project
// would; the two large scripts go in gzipped and base64-encoded, as committed next to them. The
// cloud-config around them is written out by hand below.
const cloudInitFile = (name) => fs.readFileSync(path.join(__dirname, '..', 'cloud-init', name), 'utf8');
const fragment = (name) => cloudInitFile(name).replace(/\n$/, '').split('\n').map((l) => (l ? `      ${l}` : l)).join('\n');
const packed = (name) => JSON.stringify(cloudInitFile(`${name}.gz.b64`).trim());
const sshdDropIn = fragment('sshd-access.conf');
const cloudflaredUnit = fragment('cloudflared-access.service');
const guardScript = fragment('metadata-guard.sh');
const guardUnit = fragment('cdktf-metadata-guard.service');
const guardRootSlice = fragment('metadata-guard-root-slice.conf');
const guardAllow = fragment('metadata-guard-allow.conf');
// the root services let through the guard's deny, each by its own drop-in.
const guardAllowed = ['cloud-init-local', 'cloud-init', 'cloud-init-network', 'cloud-init-main', 'cloud-config', 'cloud-final',
  'cloud-init-hotplugd', 'droplet-agent', 'do-agent', 'cdktf-access-accounts'];
const guardRequires = fragment('metadata-guard-requires.conf');
const guardNftables = fragment('metadata-guard-nftables.conf');
const accountsAgent = packed('accounts');
const accountsService = fragment('cdktf-access-accounts.service');
const accountsTimer = fragment('cdktf-access-accounts.timer');
const updater = packed('update-cloudflared');
const updaterService = fragment('cdktf-cloudflared-update.service');
const updaterTimer = fragment('cdktf-cloudflared-update.timer');
const setupScript = fragment('setup.sh');

// the cloud-config's text, cut where each droplet puts its CA key and its tunnel token.
const cloudConfigTexts = [`#cloud-config
# Rendered by cdktf-access-droplet. cloud-init applies it once, at the droplet's first boot;
# DigitalOcean cannot change user_data afterwards (a change replaces the droplet). The people who
# may log in are not here: the droplet's tags carry them (they change in place), and
# cdktf-access-accounts applies them, at first boot and every 30 seconds after.
ssh_pwauth: false
# no account from the image's defaults (the "ubuntu" or "debian" sudoer): accounts come from the tags.
users: []
write_files:
  - path: /etc/ssh/ca.pub
    owner: root:root
    permissions: "0644"
    content: `, `
  - path: /etc/ssh/sshd_config.d/10-cloudflare-access.conf
    owner: root:root
    permissions: "0644"
    content: |
${sshdDropIn}
  - path: /etc/cloudflared-access/tunnel.env
    owner: root:root
    permissions: "0600"
    content: `, `
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
  - path: /etc/systemd/system/-.slice.d/cdktf-metadata-guard.conf
    owner: root:root
    permissions: "0644"
    content: |
${guardRootSlice}
${guardAllowed.map((unit) => `  - path: /etc/systemd/system/${unit}.service.d/cdktf-metadata-guard.conf
    owner: root:root
    permissions: "0644"
    content: |
${guardAllow}
`).join('')}  - path: /etc/systemd/system/ssh.service.d/cdktf-metadata-guard.conf
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
  - path: /usr/local/lib/cdktf-access-droplet/accounts
    owner: root:root
    permissions: "0755"
    # cloud-init/accounts, gzipped (scripts/pack-cloud-init.ts): it is the largest file here.
    encoding: gz+b64
    content: ${accountsAgent}
  - path: /etc/systemd/system/cdktf-access-accounts.service
    owner: root:root
    permissions: "0644"
    content: |
${accountsService}
  - path: /etc/systemd/system/cdktf-access-accounts.timer
    owner: root:root
    permissions: "0644"
    content: |
${accountsTimer}
  - path: /usr/local/lib/cdktf-access-droplet/update-cloudflared
    owner: root:root
    permissions: "0755"
    # cloud-init/update-cloudflared, gzipped (scripts/pack-cloud-init.ts).
    encoding: gz+b64
    content: ${updater}
  - path: /etc/systemd/system/cdktf-cloudflared-update.service
    owner: root:root
    permissions: "0644"
    content: |
${updaterService}
  - path: /etc/systemd/system/cdktf-cloudflared-update.timer
    owner: root:root
    permissions: "0644"
    content: |
${updaterTimer}
  - path: /usr/local/lib/cdktf-access-droplet/setup
    owner: root:root
    permissions: "0755"
    content: |
${setupScript}
runcmd:
  - ["/usr/local/lib/cdktf-access-droplet/setup","https://pkg.cloudflare.com/cloudflare-main.gpg","https://pkg.cloudflare.com/cloudflared","any","main"]
`];

// literal text in a Terraform value: `${` and `%{` would start a template sequence.
const escapeTemplate = (text) => text.replace(/([$%])\{/g, '$1$1{');

// the accounts agent's tags: the canonical document {"v":1,"accounts":[...]} (accounts sorted by
// name, principals and groups sorted and unique), in lower-case RFC 4648 base32 without padding,
// cut into 200-character chunks, each tagged cdad:<gen>:<i>:<n>:<chunk> where gen is the first 12
// hex digits of the payload's sha256.
function base32(bytes) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = ((value << 8) | b) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function accountTags(accounts) {
  const sorted = [...accounts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const doc = JSON.stringify({
    v: 1,
    accounts: sorted.map((a) => ({ name: a.name, email: a.email, principals: [...new Set(a.principals)].sort(), sudo: a.sudo, groups: [] })),
  });
  const payload = base32(Buffer.from(doc, 'utf8'));
  const gen = crypto.createHash('sha256').update(payload, 'ascii').digest('hex').slice(0, 12);
  const chunks = payload.match(/.{1,200}/g);
  return chunks.map((chunk, i) => `cdad:${gen}:${i}:${chunks.length}:${chunk}`);
}

// certificates carry the email's local part (self-hosted) or the Unix name (infrastructure).
const userTags = accountTags(users.map((u) => ({
  ...u,
  principals: infrastructure ? [u.name] : [u.email.split('@')[0], u.email.split('@')[0].toLowerCase()],
})));

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
let policy;
let teamName;
if (!infrastructure) {
  policy = new ZeroTrustAccessPolicy(access, 'AccessPolicy', {
    accountId,
    name: 'web allow',
    decision: 'allow',
    include: users.map((u) => ({ email: { email: u.email } })),
  });
  // cloudflared checks Access tokens at the origin for the account's team: the first label of the
  // organization's auth domain.
  const organization = new DataCloudflareZeroTrustOrganization(access, 'Organization', {
    accountId,
    lifecycle: {
      postcondition: [{
        condition: '${can(regex("^[a-z0-9-]+[.]cloudflareaccess[.]com$", self.auth_domain))}',
        errorMessage: 'The Zero Trust organization\'s auth domain (${self.auth_domain}) is not <team>.cloudflareaccess.com, so cloudflared cannot check Access tokens for it: pass accessTeamName (cdktf-access-droplet).',
      }],
    },
  });
  teamName = Fn.element(Fn.split('.', organization.authDomain), 0);
}
const tag = new Tag(fleet, 'Tag', { name: 'access-fleet-web' });
const firewall = new Firewall(fleet, 'Firewall', {
  name: 'web-fw',
  tags: [tag.name],
  outboundRule: [
    { protocol: 'tcp', portRange: 'all', destinationAddresses: everywhere },
    { protocol: 'udp', portRange: 'all', destinationAddresses: everywhere },
    { protocol: 'icmp', destinationAddresses: everywhere },
  ],
});

// the cloud-config's text once for every droplet; user_data reads its parts.
const cloudConfig = new TerraformLocal(fleet, 'CloudConfig', cloudConfigTexts.map(escapeTemplate));
const [head, middle, tail] = cloudConfigTexts.map((_, i) => Token.asString(ref(`local.${cloudConfig.friendlyUniqueId}[${i}]`, stack)));
const userData = (caPublicKey, tunnelToken) =>
  `${head}${caPublicKey}${middle}${Fn.jsonencode(`TUNNEL_TOKEN=${tunnelToken}\n`)}${tail}`;

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
  let application;
  let certificate;
  if (infrastructure) {
    application = new ZeroTrustAccessApplication(accessScope, 'AccessApp', {
      accountId,
      name: `web ${hostname}`,
      type: 'infrastructure',
      targetCriteria: [{ port: 22, protocol: 'SSH', targetAttributes: { hostname: [hostname] } }],
      policies: users.map((u, p) => ({
        name: `${hostId} ${u.name}`,
        decision: 'allow',
        precedence: p + 1,
        include: [{ email: { email: u.email } }],
        connectionRules: { ssh: { usernames: [u.name], allowEmailAlias: false } },
      })),
    });
  } else {
    application = new ZeroTrustAccessApplication(accessScope, 'AccessApp', {
      accountId,
      name: `web ${hostname}`,
      type: 'self_hosted',
      domain: hostname,
      destinations: [{ type: 'public', uri: hostname }],
      policies: [{ id: policy.id, precedence: 1 }],
    });
    certificate = new ZeroTrustAccessShortLivedCertificate(accessScope, 'ShortLivedCertificate', {
      accountId,
      appId: application.id,
    });
  }
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
        : [
          {
            hostname,
            service: 'ssh://localhost:22',
            originRequest: { access: { required: true, audTag: [application.aud], teamName } },
          },
          { service: 'http_status:404' },
        ],
    },
  });
  // the token reads the tunnel id through a local, not from the tunnel resource itself.
  const tunnelId = new TerraformLocal(tunnelScope, 'TunnelId', tunnel.id);
  const token = new DataCloudflareZeroTrustTunnelCloudflaredToken(tunnelScope, 'Token', {
    accountId,
    tunnelId: tunnelId.asString,
  });
  if (!infrastructure) {
    new DnsRecord(tunnelScope, 'DnsRecord', {
      zoneId,
      name: hostname,
      type: 'CNAME',
      content: `${tunnel.id}.cfargotunnel.com`,
      proxied: true,
      ttl: 1,
      comment: `Cloudflare Tunnel for ${hostId} (cdktf-access-droplet)`,
    });
  }
  const droplet = new Droplet(hostScope, 'Droplet', {
    name: hostname,
    image: 'ubuntu-24-04-x64',
    region: 'nyc3',
    size: 's-1vcpu-1gb',
    monitoring: true,
    tags: [tag.name, ...userTags],
    userData: userData(
      infrastructure ? JSON.stringify(`${INFRASTRUCTURE_CA}\n`) : Fn.jsonencode(`${certificate.publicKey}\n`),
      Fn.sensitive(token.token),
    ),
    dependsOn: [firewall],
    lifecycle: { createBeforeDestroy: true },
  });
  if (infrastructure) {
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
  }
}
const sshConfigs = infrastructure ? hostnames.map((h, i) => infrastructureSshConfig(h, privateAddresses[i])) : hostnames.map(sshConfig);
new TerraformOutput(fleet, 'Hostnames', { value: hostnames, description: 'The hostnames to SSH to through Cloudflare Access' });
new TerraformOutput(fleet, 'SshConfig', { value: sshConfigs.join('\n'), description: 'Add this to ~/.ssh/config, then: ssh <user>@<hostname>' });
const tConstruct = performance.now();
app.synth();
const tSynth = performance.now();

require('./report').report('baseline', n, { t0, tRequire, tConstruct, tSynth });
