// the config drive the e2e harness attaches for cloud-init's ConfigDrive datasource: its files,
// and the ISO genisoimage makes of them, read back with isoinfo (genisoimage's own package).
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildConfigDrive, CONFIG_DRIVE_LABEL, configDriveFiles, metaDataJson, networkDataJson } from '../../e2e/configdrive';
import { Droplet } from '../../e2e/metadata';
import { describeReal, Requirement, tool } from '../real/helpers';

const GENISOIMAGE: Requirement[] = ['/usr/bin/genisoimage', '/usr/bin/isoinfo'].map((path) => tool(path, 'genisoimage'));

const droplet: Droplet = {
  id: 123456789, hostname: 'access-droplet-e2e', region: 'fra1', userData: '#cloud-config\nusers: []\n',
  vendorData: '#cloud-config\nmanage_etc_hosts: true\n', publicKeys: ['ssh-ed25519 AAAA test'], mac: '52:54:00:12:34:56', tags: ['e2e'],
};
const uuid = '1ee9c4e1-4b22-4078-8aa2-2a6161ab3ed9';

describe('e2e config drive', () => {
  test('meta_data.json has the uuid cloud-init requires, the hostname and the keys as a map', () => {
    expect(metaDataJson(droplet, uuid)).toMatchObject({ uuid, hostname: 'access-droplet-e2e', public_keys: { 'key-0': 'ssh-ed25519 AAAA test' } });
  });

  test('network_data.json: the static address SSH is forwarded to, on the NIC\'s MAC, with a gateway and no routes', () => {
    expect(networkDataJson(droplet)).toEqual({
      links: [{ id: 'eth0', type: 'phy', ethernet_mac_address: '52:54:00:12:34:56', mtu: 1500 }],
      networks: [{ id: 'public-ipv4', type: 'ipv4', link: 'eth0', ip_address: '169.254.2.15', netmask: '255.255.0.0', gateway: '169.254.169.253', routes: [] }],
      services: [{ type: 'dns', address: '169.254.169.253' }],
    });
  });

  test('openstack/latest holds meta_data.json, user_data as is, vendor data as cloud-config, network_data.json', () => {
    const files = new Map(configDriveFiles(droplet, uuid));
    expect([...files.keys()]).toEqual(['meta_data.json', 'user_data', 'vendor_data.json', 'network_data.json'].map((f) => `openstack/latest/${f}`));
    expect(files.get('openstack/latest/user_data')).toBe(droplet.userData);
    expect(JSON.parse(files.get('openstack/latest/vendor_data.json')!)).toEqual({ 'cloud-init': droplet.vendorData });
  });

});

describeReal('e2e config drive image', GENISOIMAGE, () => {
  const isoinfo = '/usr/bin/isoinfo';
  test('the ISO is labelled config-2 and keeps the names cloud-init opens (Rock Ridge)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-configdrive-'));
    try {
      const iso = await buildConfigDrive(dir, droplet, uuid);
      expect(execFileSync(isoinfo, ['-d', '-i', iso], { encoding: 'utf8' })).toMatch(new RegExp(`^Volume id: ${CONFIG_DRIVE_LABEL}$`, 'm'));
      const listing = execFileSync(isoinfo, ['-R', '-f', '-i', iso], { encoding: 'utf8' });
      expect(listing).toContain('/openstack/latest/meta_data.json');
      expect(listing).toContain('/openstack/latest/user_data');
      expect(execFileSync(isoinfo, ['-R', '-x', '/openstack/latest/user_data', '-i', iso], { encoding: 'utf8' })).toBe(droplet.userData);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
