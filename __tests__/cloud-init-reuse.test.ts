// renderCloudInit reuses the part of the cloud-config that does not depend on the CA key and the
// tunnel token from one call to the next (a fleet renders it once, not once per host). These
// tests hold it to giving exactly what a fresh render gives, in any order of calls.
import { parse } from 'yaml';
import { CloudInit, CloudInitOptions, renderCloudInit } from '../lib';
import { CA_KEY, TUNNEL_TOKEN } from './fixtures';

const base: CloudInitOptions = { caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN, users: ['srhea@cloudflare.com'] };
const OTHER_CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkXtHcJDRNjTVr0wmS6nQ1W8Wm2W7mCV other@example.com';
const OTHER_TOKEN = 'eyJhIjoiMDEyMzQ1Njc4OWFiY2RlZiIsInQiOiJvdGhlciJ9';

const caOf = (text: string) => parse(text).write_files.find((w: any) => w.path === '/etc/ssh/ca.pub').content;
const envOf = (text: string) => parse(text).write_files.find((w: any) => w.path === '/etc/cloudflared-access/tunnel.env').content;
const usersOf = (text: string) => parse(text).users.map((u: any) => u.name);

describe('renderCloudInit reuse between calls', () => {
  test('alternating options give each its own text, the same as when rendered alone', () => {
    const a = { ...base };
    const b: CloudInitOptions = { ...base, users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe' }], allowPortForwarding: true };
    const aAlone = renderCloudInit(a);
    const bAlone = renderCloudInit(b);
    expect(renderCloudInit(a)).toBe(aAlone);
    expect(renderCloudInit(b)).toBe(bAlone);
    expect(usersOf(aAlone)).toEqual(['srhea']);
    expect(usersOf(bAlone)).toEqual(['srhea', 'jdoe']);
    expect(bAlone).toContain('AllowTcpForwarding local');
    expect(aAlone).not.toContain('AllowTcpForwarding local');
  });

  test('a new CA key or tunnel token with the same other options changes only those two files', () => {
    const first = renderCloudInit(base);
    const second = renderCloudInit({ ...base, caPublicKey: OTHER_CA, tunnelToken: OTHER_TOKEN });
    expect(caOf(first)).toBe(`${CA_KEY}\n`);
    expect(caOf(second)).toBe(`${OTHER_CA}\n`);
    expect(envOf(first)).toBe(`TUNNEL_TOKEN=${TUNNEL_TOKEN}\n`);
    expect(envOf(second)).toBe(`TUNNEL_TOKEN=${OTHER_TOKEN}\n`);
    const rest = (text: string) => text.split('\n').filter((l) => !l.includes(CA_KEY) && !l.includes(OTHER_CA) && !l.includes('TUNNEL_TOKEN='));
    expect(rest(second)).toEqual(rest(first));
  });

  test('a mutated users array is not mistaken for the one rendered before', () => {
    const users: CloudInitOptions['users'] = ['srhea@cloudflare.com'];
    const before = renderCloudInit({ ...base, users });
    users.push('jdoe@example.com');
    const after = renderCloudInit({ ...base, users });
    expect(usersOf(before)).toEqual(['srhea']);
    expect(usersOf(after)).toEqual(['srhea', 'jdoe']);
  });

  test('fails on a malformed CA key right after the same options rendered fine', () => {
    renderCloudInit(base);
    expect(() => renderCloudInit({ ...base, caPublicKey: 'not a key' })).toThrow(/caPublicKey "not a key" is not a one-line OpenSSH public key/);
    expect(() => renderCloudInit({ ...base, tunnelToken: 'has spaces in it' })).toThrow(/tunnelToken "has spaces in it" is not a tunnel token/);
  });

  test('fails on too many users for user_data after a small render, with the same message as ever', () => {
    renderCloudInit(base);
    const many = Array.from({ length: 400 }, (_, i) => ({ email: `user${i}@example.com`, unixName: `u${i}`, groups: ['team1', 'team2', 'team-ab', 'team-cd'] }));
    expect(() => renderCloudInit({ ...base, users: many })).toThrow(/user_data would be about \d+ bytes for 400 users, over DigitalOcean's 65536-byte limit/);
    expect(CloudInit.warnings({ ...base, users: [{ email: 'a@example.com', groups: ['adm'] }] })).toEqual([expect.stringMatching(/joins group "adm"/)]);
  });
});
