// the e2e harness's stand-in for DigitalOcean's metadata service, run as QEMU runs it (one
// process per connection, the connection on stdin/stdout), and its summary line.
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Checks, summaryLine } from '../../e2e/checks';
import { imageFacts, sections } from '../../e2e/facts';
import { Droplet, MetadataService, metadataJson } from '../../e2e/metadata';

const droplet: Droplet = {
  id: 123456789, hostname: 'access-droplet-e2e', region: 'fra1', userData: '#cloud-config\nusers: []\n',
  vendorData: '#cloud-config\nmanage_etc_hosts: true\n', publicKeys: ['ssh-ed25519 AAAA test'], mac: '52:54:00:12:34:56',
  tags: ['e2e', 'web'],
};

describe('stand-in metadata service', () => {
  let dir: string;
  let service: MetadataService;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-metadata-'));
    service = await MetadataService.create(join(dir, 'md'), droplet);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const get = (path: string) => execFileSync(join(__dirname, '..', '..', 'e2e', 'standin', 'metadata-service'), [service.dir], {
    input: `GET ${path} HTTP/1.1\r\nHost: 169.254.169.254\r\nAccept: */*\r\n\r\n`, encoding: 'utf8',
  });

  test('serves v1.json with the fields cloud-init\'s DigitalOcean datasource reads', () => {
    const response = get('/metadata/v1.json');
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response).toContain('Connection: close\r\n');
    const body = JSON.parse(response.split('\r\n\r\n')[1]);
    expect(body).toEqual(metadataJson(droplet));
    expect(body).toMatchObject({
      droplet_id: 123456789, hostname: 'access-droplet-e2e', user_data: droplet.userData, vendor_data: droplet.vendorData,
      public_keys: ['ssh-ed25519 AAAA test'], region: 'fra1', dns: { nameservers: ['169.254.169.253'] },
      interfaces: { public: [{ mac: '52:54:00:12:34:56', ipv4: { ip_address: '169.254.2.15', netmask: '255.255.0.0', gateway: '169.254.169.253' } }] },
    });
  });

  test('serves the per-field paths, 404 elsewhere, nothing outside its directory, and logs each request', () => {
    expect(get('/metadata/v1/user-data')).toMatch(/\r\n\r\n#cloud-config\nusers: \[\]\n$/);
    expect(get('/metadata/v1/id')).toMatch(/\r\n\r\n123456789$/);
    expect(get('/metadata/v2.json')).toMatch(/^HTTP\/1\.1 404 /);
    expect(get('/../requests.log')).toMatch(/^HTTP\/1\.1 404 /);
    expect(service.requests()).toEqual(expect.arrayContaining([
      'GET /metadata/v1/user-data 200', 'GET /metadata/v1/id 200', 'GET /metadata/v2.json 404',
    ]));
  });

  test('serves the tags as an index (one a line, trailing slash; 301 without it) and in v1.json, and follows setTags', async () => {
    const body = (r: string) => r.split('\r\n\r\n')[1];
    expect(get('/metadata/v1/tags/')).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(body(get('/metadata/v1/tags/'))).toBe('e2e\nweb');
    expect(get('/metadata/v1/tags')).toMatch(/^HTTP\/1\.1 301 Moved Permanently\r\n(.*\r\n)*Location: \/metadata\/v1\/tags\/\r\n/);
    expect(service.tags).toEqual(['e2e', 'web']);
    await service.setTags(['cdad:0123456789ab:0:1:abc', 'e2e']);
    expect(body(get('/metadata/v1/tags/'))).toBe('cdad:0123456789ab:0:1:abc\ne2e');
    expect(JSON.parse(body(get('/metadata/v1.json'))).tags).toEqual(['cdad:0123456789ab:0:1:abc', 'e2e']);
    await service.setTags([]);
    expect(body(get('/metadata/v1/tags/'))).toBe('');
    await expect(service.setTags(['has space'])).rejects.toThrow(/tag "has space" is not one DigitalOcean accepts/);
    await service.setTags(droplet.tags ?? []);
  });

  test('the QEMU network is restricted and forwards only ssh and the metadata service', () => {
    const netdev = service.netdev('n0', 2222).split(',');
    expect(netdev).toEqual(expect.arrayContaining([
      'user', 'id=n0', 'restrict=on', 'net=169.254.0.0/16', 'host=169.254.169.253', 'dhcpstart=169.254.2.15',
      'hostfwd=tcp:127.0.0.1:2222-169.254.2.15:22',
    ]));
    expect(netdev.filter((o) => o.startsWith('guestfwd=') || o.startsWith('hostfwd='))).toHaveLength(2);
    expect(netdev.find((o) => o.startsWith('guestfwd='))).toMatch(/^guestfwd=tcp:169\.254\.169\.254:80-cmd:\S+\/metadata-service \S+$/);
  });
});

describe('e2e summary line', () => {
  test('names the image, datasource, versions and counts, exactly', () => {
    const facts = imageFacts(sections([
      '=== result-json', '{"v1": {"datasource": "DataSourceDigitalOcean", "errors": []}}',
      '=== cloud-init-version', '/usr/bin/cloud-init 25.1.4',
      '=== openssh-version', 'OpenSSH_10.0p2 Debian-7, OpenSSL 3.5.1 1 Jul 2025', '',
    ].join('\n')));
    const checks = new Checks(undefined);
    checks.passed = 24;
    expect(summaryLine('debian-13', facts, checks)).toBe('debian-13: datasource DigitalOcean, cloud-init 25.1.4, OpenSSH 10.0p2, 24 passed, 0 failed');
  });

  test('says unknown for what the VM did not tell', () => {
    const checks = new Checks(undefined);
    checks.failed = 1;
    expect(summaryLine('debian-12', imageFacts(new Map()), checks)).toBe('debian-12: datasource unknown, cloud-init unknown, OpenSSH unknown, 0 passed, 1 failed');
  });

  test('E2E_SKIP lists matching checks as skipped, never passed', async () => {
    const checks = new Checks(/forwarding/i);
    await checks.check('no forwarding', () => { throw new Error('would fail'); });
    await checks.check('other', () => undefined);
    expect([checks.passed, checks.failed, checks.skipped]).toEqual([1, 0, 1]);
  });
});
