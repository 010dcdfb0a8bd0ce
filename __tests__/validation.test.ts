// lib/validation.ts through the constructs: only Debian/Ubuntu images, DigitalOcean region and size
// slugs, DNS names that say what is wrong with them.
import { AccessDropletFleet } from '../lib';
import { fleetProps, newDroplet, newStack, onlyResource, synthDroplet, warningsOf } from './fixtures';

describe('images and regions', () => {
  test.each(['ubuntu-24-04-x64', 'ubuntu-22-04-x64', 'debian-12-x64', 'debian-13-x64'])('accepts %s without a warning', (image) => {
    expect(onlyResource(synthDroplet({ image }), 'digitalocean_droplet').image).toBe(image);
    expect(warningsOf(newDroplet({ image }))).toEqual([]);
  });

  test('accepts a numeric snapshot or custom image id with a warning that it must be Debian/Ubuntu based', () => {
    expect(onlyResource(synthDroplet({ image: '123456789' }), 'digitalocean_droplet').image).toBe('123456789');
    expect(warningsOf(newDroplet({ image: '123456789' }))).toEqual([expect.stringMatching(/image 123456789 is a snapshot or custom image id: it must be Debian or Ubuntu based/)]);
  });

  test.each([
    ['centos-stream-9-x64', /image "centos-stream-9-x64" is not Debian or Ubuntu: the cloud-config installs cloudflared with apt/],
    ['fedora-40-x64', /image "fedora-40-x64" is not Debian or Ubuntu/],
    ['rockylinux-9-x64', /image "rockylinux-9-x64" is not Debian or Ubuntu/],
    ['almalinux-9-x64', /image "almalinux-9-x64" is not Debian or Ubuntu/],
    ['freebsd-14-x64', /image "freebsd-14-x64" is not Debian or Ubuntu/],
    ['ubuntu-20-04-x64', /image "ubuntu-20-04-x64" is not a supported image slug; use "ubuntu-24-04-x64", "ubuntu-22-04-x64", "debian-12-x64", "debian-13-x64", or the numeric id/],
    ['docker-20-04', /image "docker-20-04" is not a supported image slug/],
  ])('fails on image %s', (image, message) => {
    expect(() => newDroplet({ image })).toThrow(message);
  });

  test('fails on a fleet host image of another distribution, naming the host', () => {
    expect(() => new AccessDropletFleet(newStack(), 'F', { ...fleetProps, hosts: [{ hostname: 'a.widgetcorp.tech', image: 'fedora-40-x64' }] }))
      .toThrow(/hosts\[0\]\.image "fedora-40-x64" is not Debian or Ubuntu/);
    expect(() => new AccessDropletFleet(newStack(), 'F', { ...fleetProps, image: 'centos-stream-9-x64' })).toThrow(/^image "centos-stream-9-x64"/);
  });

  test.each(['nyc-3', 'nyc', 'newyork3', 'us-east-1'])('fails on region %s', (region) => {
    expect(() => newDroplet({ region })).toThrow(new RegExp(`region "${region}" is not a DigitalOcean region slug: three letters and a digit, e.g. "nyc3"`));
  });

  test('fails on a fleet host region that is no region slug', () => {
    expect(() => new AccessDropletFleet(newStack(), 'F', { ...fleetProps, hosts: [{ hostname: 'a.widgetcorp.tech', region: 'fra-1' }] }))
      .toThrow(/hosts\[0\]\.region "fra-1" is not a DigitalOcean region slug/);
  });
});

describe('sizes', () => {
  test.each(['s-1vcpu-1gb', 's-1vcpu-512mb-10gb', 's-2vcpu-4gb-amd', 's-1vcpu-1gb-35gb-intel', 'g-2vcpu-8gb', 'gd-4vcpu-16gb', 'm3-2vcpu-16gb',
    'so1_5-2vcpu-16gb', 'c-2', 'c-4-intel', 'c2-2vcpu-4gb', 'gpu-h100x1-80gb'])('accepts %s', (size) => {
    expect(onlyResource(synthDroplet({ size }), 'digitalocean_droplet').size).toBe(size);
  });

  test.each([
    ['s-1vcpu-1g', /size "s-1vcpu-1g" is not a DigitalOcean droplet size slug, e\.g\. "s-1vcpu-1gb".*; did you mean "s-1vcpu-1gb"\?/],
    ['1gb', /size "1gb" is not a DigitalOcean droplet size slug/],
    ['s-1cpu-1gb', /size "s-1cpu-1gb" is not/],
    ['S-1VCPU-1GB', /size "S-1VCPU-1GB" is not/],
    ['small', /size "small" is not/],
  ])('fails on size %s, at synth rather than at apply', (size, message) => {
    expect(() => newDroplet({ size })).toThrow(message);
  });

  test('fails on a fleet host size, naming the host', () => {
    expect(() => new AccessDropletFleet(newStack(), 'F', { ...fleetProps, hosts: [{ hostname: 'a.widgetcorp.tech', size: 's-2vcpu-4g' }] }))
      .toThrow(/hosts\[0\]\.size "s-2vcpu-4g" is not a DigitalOcean droplet size slug/);
  });
});

describe('hostnames say why they are not DNS names', () => {
  test.each([
    [`${'a'.repeat(64)}.widgetcorp.tech`, /its label "a{20}\.\.\." is 64 characters long, over DNS's 63 per label/],
    [`${'a.'.repeat(126)}tech`, /it is 256 characters long, over DNS's 253/],
    ['droplet', /it has one label; a hostname needs at least two/],
    ['a..widgetcorp.tech', /it has an empty label/],
    ['Droplet.widgetcorp.tech', /it has upper-case letters \("Droplet"\)/],
    ['a_b.widgetcorp.tech', /its label "a_b" has characters other than a-z, 0-9 and "-"/],
    ['-a.widgetcorp.tech', /its label "-a" has characters other than .* starts or ends with "-"/],
    ['10.0.0.1', /its last label is a number/],
  ])('%s', (hostname, why) => {
    expect(() => newDroplet({ hostname })).toThrow(new RegExp(`^hostname .* is not a DNS name: ${why.source}`));
  });

  test('a long hostname fails on the name derived from it, and says to pass name', () => {
    const hostname = `${'bastion-for-the-platform-team'.repeat(2)}.eu-west.widgetcorp.tech`;
    expect(() => newDroplet({ hostname })).toThrow(/the name derived from hostname ".*" \(".*-widgetcorp-tech"\) is 82 characters long, over 63; .*pass name/);
    expect(() => newDroplet({ hostname, name: 'bastion' })).not.toThrow();
  });
});
