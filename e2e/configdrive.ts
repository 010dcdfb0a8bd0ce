/**
 * The config drive DigitalOcean attaches to a droplet at boot (OpenStack's config-drive format,
 * which cloud-init's ConfigDrive datasource reads): an ISO 9660 image labelled `config-2` holding
 * `openstack/latest/` with the droplet's metadata, user_data, vendor data and network.
 */
import { promises as fs } from 'fs';
import { join } from 'path';
import { Droplet, GATEWAY, GUEST_IP } from './metadata';
import { run } from './util';

/** The volume label cloud-init's ds-identify and the datasource look for. */
export const CONFIG_DRIVE_LABEL = 'config-2';

/**
 * `openstack/latest/meta_data.json`. `uuid` is required (cloud-init raises BrokenMetadata
 * without it) and becomes the instance id; `public_keys` is a name-to-key map.
 */
export function metaDataJson(d: Droplet, uuid: string): object {
  return {
    uuid,
    hostname: d.hostname,
    name: d.hostname,
    availability_zone: d.region,
    public_keys: Object.fromEntries(d.publicKeys.map((k, i) => [`key-${i}`, k])),
  };
}

/**
 * `openstack/latest/network_data.json`: the address QEMU forwards SSH to, static, on the NIC with
 * the droplet's MAC, with QEMU as gateway (a `gateway` key renders an ifupdown `gateway` line; a
 * `routes` entry would render `route add`, which fails without net-tools).
 */
export function networkDataJson(d: Droplet): object {
  return {
    links: [{ id: 'eth0', type: 'phy', ethernet_mac_address: d.mac, mtu: 1500 }],
    networks: [{
      id: 'public-ipv4', type: 'ipv4', link: 'eth0', ip_address: GUEST_IP, netmask: '255.255.0.0', gateway: GATEWAY, routes: [],
    }],
    services: [{ type: 'dns', address: GATEWAY }],
  };
}

/** The drive's files, by path inside it. */
export function configDriveFiles(d: Droplet, uuid: string): [string, string][] {
  return [
    ['openstack/latest/meta_data.json', JSON.stringify(metaDataJson(d, uuid))],
    ['openstack/latest/user_data', d.userData],
    // DigitalOcean's vendor data, in the shape OpenStack's vendor_data.json carries cloud-config.
    ['openstack/latest/vendor_data.json', JSON.stringify({ 'cloud-init': d.vendorData })],
    ['openstack/latest/network_data.json', JSON.stringify(networkDataJson(d))],
  ];
}

/** Writes the drive's files under `dir`/config-2 and makes `dir`/config-2.iso of them. */
export async function buildConfigDrive(dir: string, d: Droplet, uuid: string): Promise<string> {
  const tree = join(dir, CONFIG_DRIVE_LABEL);
  for (const [path, content] of configDriveFiles(d, uuid)) {
    await fs.mkdir(join(tree, path, '..'), { recursive: true });
    await fs.writeFile(join(tree, path), content);
  }
  const iso = join(dir, `${CONFIG_DRIVE_LABEL}.iso`);
  // -J -r: Joliet and Rock Ridge keep the lower-case names and underscores cloud-init opens.
  await run('genisoimage', ['-quiet', '-o', iso, '-V', CONFIG_DRIVE_LABEL, '-J', '-r', tree]);
  return iso;
}
