/**
 * The stand-in for DigitalOcean's metadata service: the files it serves, written from what the
 * droplet would be given, and the QEMU network that puts it at 169.254.169.254:80 for the guest
 * and nowhere else.
 */
import { promises as fs, existsSync, readFileSync } from 'fs';
import { join } from 'path';

/** The guest's user network: link-local, as a droplet sees its metadata service. */
export const GUEST_NET = '169.254.0.0/16';
/** QEMU's own address in that network (it must not be the metadata address). */
export const GATEWAY = '169.254.169.253';
/** Where the guest's first (and only) DHCP lease, and so QEMU's hostfwd, points. */
export const GUEST_IP = '169.254.2.15';
export const METADATA_IP = '169.254.169.254';
const RESPONDER = join(__dirname, 'standin', 'metadata-service');

/** What the metadata service says about the droplet. */
export interface Droplet {
  readonly id: number;
  readonly hostname: string;
  readonly region: string;
  /** the rendered cloud-config under test. */
  readonly userData: string;
  readonly vendorData: string;
  readonly publicKeys: string[];
  /** the VM NIC's MAC; cloud-init matches the metadata's interfaces to NICs by it. */
  readonly mac: string;
}

/**
 * `/metadata/v1.json` with the fields DigitalOcean documents. The public interface carries the
 * address QEMU forwards SSH to, with QEMU as gateway: cloud-init turns it into a static network
 * config, and any other address would cut the forwarded port off.
 */
export function metadataJson(d: Droplet): object {
  return {
    droplet_id: d.id,
    hostname: d.hostname,
    user_data: d.userData,
    vendor_data: d.vendorData,
    public_keys: d.publicKeys,
    auth_key: '',
    region: d.region,
    interfaces: {
      public: [{
        ipv4: { ip_address: GUEST_IP, netmask: '255.255.0.0', gateway: GATEWAY },
        anchor_ipv4: { ip_address: '10.20.0.5', netmask: '255.255.0.0', gateway: '10.20.0.1' },
        mac: d.mac,
        type: 'public',
      }],
    },
    floating_ip: { ipv4: { active: false } },
    reserved_ip: { ipv4: { active: false }, ipv6: { active: false } },
    dns: { nameservers: [GATEWAY] },
    tags: ['e2e'],
    features: { dhcp_enabled: false },
  };
}

/** The per-field paths, as DigitalOcean serves them next to v1.json. */
function fieldFiles(d: Droplet): [string, string][] {
  return [
    ['metadata/v1/id', String(d.id)],
    ['metadata/v1/hostname', d.hostname],
    ['metadata/v1/user-data', d.userData],
    ['metadata/v1/vendor-data', d.vendorData],
    ['metadata/v1/public-keys', d.publicKeys.join('\n')],
    ['metadata/v1/region', d.region],
    ['metadata/v1/interfaces/public/0/mac', d.mac],
    ['metadata/v1/interfaces/public/0/ipv4/address', GUEST_IP],
  ];
}

/** A running metadata service's files and request log. */
export class MetadataService {
  private constructor(readonly dir: string) {}

  /** Writes the files the service answers with under `dir`. */
  static async create(dir: string, droplet: Droplet): Promise<MetadataService> {
    const files = join(dir, 'files');
    const all: [string, string][] = [['metadata/v1.json', JSON.stringify(metadataJson(droplet))], ...fieldFiles(droplet)];
    for (const [path, content] of all) {
      await fs.mkdir(join(files, path, '..'), { recursive: true });
      await fs.writeFile(join(files, path), content);
    }
    return new MetadataService(dir);
  }

  /**
   * QEMU's `-netdev user` argument: `restrict=on` keeps the guest off every network; the only
   * ways in or out are the forwarded SSH port and the metadata service, run per connection.
   */
  netdev(id: string, sshPort: number): string {
    if (/[,\s]/.test(this.dir) || /[,\s]/.test(RESPONDER)) {
      throw new Error(`the metadata service's path must not hold commas or spaces: ${this.dir}`);
    }
    return [
      `user,id=${id},restrict=on,net=${GUEST_NET},host=${GATEWAY},dhcpstart=${GUEST_IP}`,
      `hostfwd=tcp:127.0.0.1:${sshPort}-${GUEST_IP}:22`,
      `guestfwd=tcp:${METADATA_IP}:80-cmd:${RESPONDER} ${this.dir}`,
    ].join(',');
  }

  /** The requests served so far, one `METHOD PATH STATUS` line each. */
  requests(): string[] {
    const file = join(this.dir, 'requests.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }
}
