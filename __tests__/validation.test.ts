// lib/validation.ts through the constructs: only Debian/Ubuntu images, DigitalOcean region slugs.
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

