// building blocks shared by AccessDroplet and AccessDropletFleet. Construct ids are part of the
// Terraform addresses, so each function takes the ids its callers have always used.
import { join } from 'path';
import { Annotations, AssetType, ITerraformDependable, TerraformAsset, Token } from 'cdktf';
import { Construct } from 'constructs';
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { ZeroTrustAccessShortLivedCertificate } from '@cdktf/provider-cloudflare/lib/zero-trust-access-short-lived-certificate';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { ZeroTrustTunnelCloudflaredConfigA } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared-config';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { DropletOptions, ResolvedPolicyRules, validateAccessRulesOnSynth } from '../access-policy-rules';
import { AccessRule } from '../access-rule';
import { CertificatePrincipals, renderCloudInitWithWarnings } from '../cloud-init';
import { AccessUserInput, UnixNaming } from '../users';
import { applyCaRotation, applyDropletExtras } from './droplet-extras';
import { validateImage, validateRegion, validateSlug, validateTag } from '../validation';

/** the settings every droplet of ours shares, after defaults. */
export interface DropletSettings extends DropletOptions {
  readonly region: string;
  readonly size: string;
  readonly image: string;
  readonly monitoring: boolean;
  readonly vpcUuid?: string;
  readonly tags?: string[];
  readonly cloudflaredAptUrl?: string;
  readonly cloudflaredAptSuite?: string;
  readonly cloudflaredAptComponent?: string;
  readonly cloudflaredAptKeyUrl?: string;
  readonly restrictMetadataService?: boolean;
  readonly allowPortForwarding?: boolean;
}

/** rules in the binding's shape; an empty list is left out. */
export function providerRules(rules: AccessRule[]) {
  return rules.length > 0 ? rules.map((r) => r.toProvider()) : undefined;
}

/** attaches the warnings of checked rules to the construct the user created. */
export function warnAbout(scope: Construct, rules: ResolvedPolicyRules) {
  rules.warnings.forEach((w) => Annotations.of(scope).addWarning(w));
}

/** an allow policy from checked rules (see resolvePolicyRules). */
export function defineAccessPolicy(scope: Construct, id: string, accountId: string, name: string, rules: ResolvedPolicyRules) {
  const policy = new ZeroTrustAccessPolicy(scope, id, {
    accountId,
    name,
    decision: 'allow',
    include: providerRules(rules.include),
    require: providerRules(rules.require),
    exclude: providerRules(rules.exclude),
  });
  validateAccessRulesOnSynth(policy);
  return policy;
}

/** a self-hosted Access application for up to five hostnames, and its SSH certificate CA. */
export function defineAccessApplication(
  scope: Construct,
  opts: {
    accountId: string; name: string; hostnames: string[]; policyIds: string[]; sessionDuration?: string;
    allowedIdps?: string[]; autoRedirectToIdentity?: boolean; tags?: string[]; caVersion?: string;
  },
) {
  const application = new ZeroTrustAccessApplication(scope, 'AccessApp', {
    accountId: opts.accountId,
    name: opts.name,
    type: 'self_hosted',
    domain: opts.hostnames[0],
    destinations: opts.hostnames.map((uri) => ({ type: 'public', uri })),
    policies: opts.policyIds.map((id, i) => ({ id, precedence: i + 1 })),
    sessionDuration: opts.sessionDuration,
    allowedIdps: opts.allowedIdps,
    autoRedirectToIdentity: opts.autoRedirectToIdentity,
    tags: opts.tags,
  });
  const certificate = new ZeroTrustAccessShortLivedCertificate(scope, 'ShortLivedCertificate', {
    accountId: opts.accountId,
    appId: application.id,
  });
  applyCaRotation(scope, certificate, opts.caVersion); // day2 hook (issue 11, CA rotation).
  return { application, certificate };
}

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
  const tunnel = new ZeroTrustTunnelCloudflared(scope, 'Tunnel', {
    accountId: opts.accountId,
    name: opts.name,
    configSrc: 'cloudflare',
  });
  // one token for the id: every attribute read creates a new one, each with a captured stack trace.
  const tunnelId = tunnel.id;
  const config = new ZeroTrustTunnelCloudflaredConfigA(scope, 'Config', {
    accountId: opts.accountId,
    tunnelId,
    config: {
      ingress: [
        ...(publicHostname ? [{ hostname: opts.hostname, service: 'ssh://localhost:22' }] : []),
        { service: 'http_status:404' },
      ],
    },
  });
  const token = new DataCloudflareZeroTrustTunnelCloudflaredToken(scope, 'Token', {
    accountId: opts.accountId,
    tunnelId,
  });
  return { scope, tunnel, tunnelId, config, token };
}

/** the proxied CNAME from a public hostname to its tunnel (ttl 1: required when proxied). */
export function defineDnsRecord(scope: Construct, opts: { zoneId: string; hostname: string; name: string; tunnelId: string }) {
  return new DnsRecord(scope, 'DnsRecord', {
    zoneId: opts.zoneId,
    name: opts.hostname,
    type: 'CNAME',
    content: `${opts.tunnelId}.cfargotunnel.com`,
    proxied: true,
    ttl: 1,
    comment: `Cloudflare Tunnel for ${opts.name} (cdktf-access-droplet)`,
  });
}

/** the droplet, with its cloud-config fed the CA key and the tunnel token; warns on `scope`. */
export function defineDroplet(
  scope: Construct,
  id: string,
  opts: {
    hostname: string; settings: DropletSettings; users: AccessUserInput[]; caPublicKey: string; tunnelToken: string;
    naming?: UnixNaming; certificatePrincipals?: CertificatePrincipals;
  },
) {
  const s = opts.settings;
  const cloudConfig = renderCloudInitWithWarnings({
    caPublicKey: opts.caPublicKey,
    tunnelToken: opts.tunnelToken,
    users: opts.users,
    unixNames: opts.naming?.unixNames,
    unixNameStyle: opts.naming?.unixNameStyle,
    certificatePrincipals: opts.certificatePrincipals,
    cloudflaredAptUrl: s.cloudflaredAptUrl,
    cloudflaredAptSuite: s.cloudflaredAptSuite,
    cloudflaredAptComponent: s.cloudflaredAptComponent,
    cloudflaredAptKeyUrl: s.cloudflaredAptKeyUrl,
    restrictMetadataService: s.restrictMetadataService,
    allowPortForwarding: s.allowPortForwarding,
  });
  cloudConfig.warnings.forEach((w) => Annotations.of(scope).addWarning(w));
  const droplet = new Droplet(scope, id, {
    name: opts.hostname,
    image: s.image,
    region: s.region,
    size: s.size,
    monitoring: s.monitoring,
    vpcUuid: s.vpcUuid,
    tags: s.tags,
    userData: escapeTerraformTemplate(cloudConfig.text),
  });
  // day2 hook (issue 11): backups, ipv6, volumes, project, extra cloud-config, replacement.
  applyDropletExtras(scope, droplet, s, { caPublicKey: opts.caPublicKey, tunnelToken: opts.tunnelToken });
  return droplet;
}

/** Egress open to everywhere for tcp, udp and icmp: cloudflared, apt and NTP need it. */
export function openEgressRules() {
  const everywhere = ['0.0.0.0/0', '::/0'];
  return [
    { protocol: 'tcp', portRange: 'all', destinationAddresses: everywhere },
    { protocol: 'udp', portRange: 'all', destinationAddresses: everywhere },
    { protocol: 'icmp', destinationAddresses: everywhere },
  ];
}

/**
 * Escapes Terraform template sequences (`${`, `%{`) in literal text so Terraform passes them
 * through unchanged, leaving cdktf's own token markers (`${TfToken[...]}`) to be resolved.
 */
export function escapeTerraformTemplate(text: string): string {
  return text.replace(/([$%])\{(?!TfToken\[)/g, '$1$1{');
}

/** the physical name derived from a hostname: dots become dashes. */
export function nameFromHostname(hostname: string, fallback: string): string {
  return Token.isUnresolved(hostname) ? fallback : hostname.replace(/\./g, '-');
}

/**
 * A null_resource whose local-exec provisioner polls Cloudflare until the tunnel is healthy, so
 * `cdktf deploy` returns only when SSH through Access can work. The poller is copied into the
 * stack's output as an asset (a path relative to the stack, valid on any machine) and reads the
 * API token from CLOUDFLARE_API_TOKEN in the deploying shell, never from the synthesized JSON.
 */
export function defineReadinessWait(
  scope: Construct,
  opts: { accountId: string; tunnelId: string; dropletId: string; hostname: string; timeoutSec: number; dependsOn: ITerraformDependable[] },
  script: TerraformAsset = defineReadinessScript(scope),
) {
  return new NullResource(scope, 'WaitForReady', {
    triggers: { tunnel_id: opts.tunnelId, droplet_id: opts.dropletId },
    dependsOn: opts.dependsOn,
    provisioners: [{
      type: 'local-exec',
      command: `node "${script.path}"`,
      environment: {
        CF_ACCOUNT_ID: opts.accountId,
        CF_TUNNEL_ID: opts.tunnelId,
        WAIT_HOSTNAME: opts.hostname,
        WAIT_TIMEOUT_SEC: String(opts.timeoutSec),
      },
    }],
  });
}

/** the poller script as a stack asset; a fleet defines it once for all its hosts. */
export function defineReadinessScript(scope: Construct): TerraformAsset {
  return new TerraformAsset(scope, 'WaitForTunnelScript', {
    path: join(__dirname, '..', '..', 'assets', 'wait-for-tunnel.js'),
    type: AssetType.FILE,
  });
}

/**
 * The shared droplet options with their defaults, checked: slugs, tags, and the readiness
 * timeout (undefined when `waitForReady` is off).
 */
export function resolveDropletOptions(props: DropletOptions): DropletSettings & { readinessTimeoutSec?: number } {
  const region = props.region ?? 'nyc3';
  const size = props.size ?? 's-1vcpu-1gb';
  const image = props.image ?? 'ubuntu-24-04-x64';
  validateRegion('region', region);
  validateSlug('size', size);
  validateImage('image', image);
  (props.tags ?? []).forEach((t, i) => validateTag(`tags[${i}]`, t));
  if (props.waitForReady !== true && props.waitForReadyTimeoutSec !== undefined) {
    throw new Error(`waitForReadyTimeoutSec is ${props.waitForReadyTimeoutSec} but waitForReady is not set; set waitForReady: true or drop the timeout`);
  }
  return {
    ...props,
    region,
    size,
    image,
    monitoring: props.monitoring ?? true,
    readinessTimeoutSec: props.waitForReady === true ? checkTimeout(props.waitForReadyTimeoutSec) : undefined,
  };
}

/** the readiness timeout, checked: whole seconds from 10 to 7200. */
function checkTimeout(value: number | undefined, field = 'waitForReadyTimeoutSec'): number {
  const v = value ?? 600;
  if (!Number.isInteger(v) || v < 10 || v > 7200) {
    throw new Error(`${field} ${JSON.stringify(value)} must be whole seconds from 10 to 7200`);
  }
  return v;
}
