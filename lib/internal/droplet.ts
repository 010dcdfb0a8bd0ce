// the droplet of a host: its settings after defaults, and the droplet with its cloud-config.
import { Token } from 'cdktf';
import { Construct } from 'constructs';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { DropletOptions } from '../droplet-options';
import { CertificatePrincipals, renderCloudInitWithWarnings } from '../cloud-init';
import { AccessUserInput, UnixNaming } from '../users';
import { validateImage, validateRegion, validateSlug, validateTag } from '../validation';
import { applyDropletExtras } from './droplet-extras';
import { literal } from './escape';
import { warnOnce } from './warn';

/** the settings every droplet of ours shares, after defaults. */
export interface DropletSettings extends DropletOptions {
  readonly region: string;
  readonly size: string;
  readonly image: string;
  readonly monitoring: boolean;
}

/** the droplet, with its cloud-config fed the CA key and the tunnel token; warns on `scope`. */
export function defineDroplet(
  scope: Construct,
  id: string,
  opts: {
    hostname: string; settings: DropletSettings; users: AccessUserInput[]; caPublicKey: string; tunnelToken: string;
    naming?: UnixNaming; certificatePrincipals?: CertificatePrincipals;
    /** where warnings about the props go, once each (a fleet: the fleet). */
    warnScope?: Construct;
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
  const warnTo = opts.warnScope ?? scope;
  cloudConfig.warnings.forEach((w) => warnOnce(warnTo, w));
  const droplet = new Droplet(scope, id, literal({
    name: opts.hostname,
    image: s.image,
    region: s.region,
    size: s.size,
    monitoring: s.monitoring,
    vpcUuid: s.vpcUuid,
    tags: s.tags,
    userData: cloudConfig.text,
  }));
  // backups, ipv6, volumes, project, extra cloud-config, and what replaces the droplet.
  applyDropletExtras(scope, droplet, s, { caPublicKey: opts.caPublicKey, tunnelToken: opts.tunnelToken }, warnTo);
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

/** the physical name derived from a hostname: dots become dashes. */
export function nameFromHostname(hostname: string, fallback: string): string {
  return Token.isUnresolved(hostname) ? fallback : hostname.replace(/\./g, '-');
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
