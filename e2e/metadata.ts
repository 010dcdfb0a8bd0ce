/**
 * The stand-in for DigitalOcean's metadata service: the files it serves, written from what the
 * droplet would be given, and the QEMU network that puts it at 169.254.169.254:80 for the guest
 * and nowhere else. The droplet's tags can change during a run ({@link MetadataService.setTags}),
 * as DigitalOcean's do when Terraform tags or untags the droplet in place.
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
  /** the droplet's tags at boot (none when left out). */
  readonly tags?: readonly string[];
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
    tags: [...d.tags ?? []],
    features: { dhcp_enabled: false },
  };
}

/**
 * Every path the service answers, with its body: v1.json and the per-field paths DigitalOcean
 * serves next to it. An index path such as `/metadata/v1/tags/` is a directory whose `index`
 * file is the answer (one entry a line).
 */
export function fieldFiles(d: Droplet): [string, string][] {
  return [
    ['metadata/v1.json', JSON.stringify(metadataJson(d))],
    ['metadata/v1/id', String(d.id)],
    ['metadata/v1/hostname', d.hostname],
    ['metadata/v1/user-data', d.userData],
    ['metadata/v1/vendor-data', d.vendorData],
    ['metadata/v1/public-keys', d.publicKeys.join('\n')],
    ['metadata/v1/region', d.region],
    ['metadata/v1/interfaces/public/0/mac', d.mac],
    ['metadata/v1/interfaces/public/0/ipv4/address', GUEST_IP],
    ['metadata/v1/tags/index', (d.tags ?? []).join('\n')],
  ];
}

/** Writes `content` to `path` so that a concurrent reader sees the old file or the new one. */
async function replaceFile(path: string, content: string): Promise<void> {
  await fs.mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await fs.writeFile(tmp, content);
  await fs.rename(tmp, path);
}

/** A running metadata service's files and request log. */
export class MetadataService {
  private constructor(readonly dir: string, private droplet: Droplet) {}

  /** Writes the files the service answers with under `dir`. */
  static async create(dir: string, droplet: Droplet): Promise<MetadataService> {
    const service = new MetadataService(dir, droplet);
    await service.write();
    return service;
  }

  private async write(): Promise<void> {
    for (const [path, content] of fieldFiles(this.droplet)) await replaceFile(join(this.dir, 'files', path), content);
  }

  /** The droplet's tags as the service serves them now. */
  get tags(): readonly string[] {
    return this.droplet.tags ?? [];
  }

  /**
   * Changes the droplet's tags from the next request on, as DigitalOcean does when the droplet is
   * tagged or untagged: `/metadata/v1/tags/` (one tag a line) and `tags` in `/metadata/v1.json`.
   * Each file is replaced whole, so a request sees either the old tags or the new ones.
   */
  async setTags(tags: readonly string[]): Promise<void> {
    const bad = tags.find((t) => !/^[A-Za-z0-9:_-]{1,255}$/.test(t));
    if (bad !== undefined) throw new Error(`tag ${JSON.stringify(bad)} is not one DigitalOcean accepts (letters, digits, ":", "-", "_"; 1-255 characters)`);
    this.droplet = { ...this.droplet, tags: [...tags] };
    await this.write();
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
