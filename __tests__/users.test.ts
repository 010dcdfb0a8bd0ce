import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { AccessDroplet, AccessDropletFleet, AccessDropletProps, AccessMode, FleetHost } from '../lib';
import { CertificatePrincipals, CloudInit, renderAccountTags } from '../lib/cloud-init';
import { decodeAccountTags } from '../lib/account-tags';
import { checkPrincipalCollisions, resolveUsers, SAFE_GROUPS, UNIX_NAME_PATTERN, userWarnings } from '../lib/users';
import { CA_KEY, minimalProps, TUNNEL_TOKEN } from './fixtures';

describe('resolveUsers', () => {
  test('derives the Unix name from the email local part', () => {
    expect(resolveUsers(['srhea@cloudflare.com'])).toEqual([
      { email: 'srhea@cloudflare.com', principal: 'srhea', unixName: 'srhea', sudo: false, groups: [] },
    ]);
  });

  test('keeps the principal when unixName differs', () => {
    expect(resolveUsers([{ email: 'Jane.Doe+ops@example.com', unixName: 'jdoe', sudo: true, groups: ['adm'] }])).toEqual([
      { email: 'Jane.Doe+ops@example.com', principal: 'Jane.Doe+ops', unixName: 'jdoe', sudo: true, groups: ['adm'] },
    ]);
  });

  test.each(['a', 'svc_1', 'j-doe', 'jdoe_2', 'a'.repeat(32)])('accepts the Unix name %s', (name) => {
    expect(UNIX_NAME_PATTERN.test(name)).toBe(true);
    expect(resolveUsers([{ email: 'x@example.com', unixName: name }])[0].unixName).toBe(name);
  });

  test.each(['j.doe', 'jdoe+x', "o'brien", 'Jdoe', '1abc', '-abc', '', 'a'.repeat(33), 'jd oe'])('fails on the Unix name %j', (name) => {
    expect(() => resolveUsers([{ email: 'x@example.com', unixName: name }])).toThrow(/is not a valid Unix user name/);
  });

  test('fails on a group name that is not valid', () => {
    expect(() => resolveUsers([{ email: 'x@example.com', groups: ['adm,root'] }])).toThrow(/users\[0\]\.groups has "adm,root"/);
  });

  test('fails on a user that is neither email nor object', () => {
    expect(() => resolveUsers([42 as any])).toThrow(/users\[0\] 42 is neither an email/);
  });
});

test('fails on names that start with an underscore (Debian system accounts like _apt)', () => {
  expect(() => resolveUsers([{ email: 'x@example.com', unixName: '_apt' }])).toThrow(/unix name "_apt" is reserved/);
});

// the rule: an account or group that images, systemd or common packages create, or the
// prefixes systemd- and _.
test.each(['postgres', 'mysql', 'nginx', 'redis', 'mongodb', 'do-agent', 'droplet-agent', '_apt', 'systemd-coredump', 'libvirt-qemu', 'incus-admin',
  'microk8s', 'docker', 'cdrom', 'staff', 'ssl-cert', 'memcache', 'rabbitmq', 'elasticsearch', 'grafana', 'prometheus', 'jenkins', 'git', 'ftp'])(
  'fails on the service account name %s', (name) => {
    expect(() => resolveUsers([{ email: 'x@example.com', unixName: name }])).toThrow(
      `users[0] unix name "${name}" is reserved for the system; pass another unixName for x@example.com`,
    );
  });

test.each(['srhea', 'jdoe', 'ops', 'dev', 'alice', 'deploy', 'postgres1', 'nginx-admin'])('accepts the personal name %s', (name) => {
  expect(resolveUsers([{ email: 'x@example.com', unixName: name }])[0].unixName).toBe(name);
});

// ---------------------------------------------------------------------------------------------
// one principal, one person: every entry point (resolveUsers, renderCloudInit, AccessDroplet,
// the fleet's hosts that share an Access application and its CA) refuses a shared principal.

const corpAdmin = { email: 'admin@corp.com', unixName: 'corpadm', sudo: true };
const vendorAdmin = { email: 'admin@vendor.io', unixName: 'vendadm' };

function warningsIn(scope: Construct): string[] {
  return scope.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data)));
}

function droplet(props: Partial<AccessDropletProps>): AccessDroplet {
  return new AccessDroplet(new TerraformStack(Testing.app(), 'stack'), 'Test', { ...minimalProps, ...props } as AccessDropletProps);
}

function fleet(hosts: FleetHost[]): AccessDropletFleet {
  return new AccessDropletFleet(new TerraformStack(Testing.app(), 'stack'), 'Fleet', {
    accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'], hosts,
  });
}

describe('one principal, one account', () => {
  test('fails when two emails share a local part, naming both and the way out', () => {
    expect(() => resolveUsers([corpAdmin, vendorAdmin])).toThrow(
      /users: admin@corp\.com and admin@vendor\.io would both get certificates for principal "admin".*unixName does not help.*different Access applications.*infrastructure mode/,
    );
  });

  test('fails when local parts differ only in case (the lower-case alias collides)', () => {
    expect(() => resolveUsers([{ email: 'Alice@corp.com', unixName: 'alice' }, { email: 'alice@other.com', unixName: 'alice2' }])).toThrow(
      /Alice@corp\.com and alice@other\.com would both get certificates for principal "alice"/,
    );
  });

  test('the same person listed in two spellings of one email is no collision', () => {
    expect(() => checkPrincipalCollisions(resolveUsers(['srhea@cloudflare.com']).concat(resolveUsers([{ email: 'SRHEA@cloudflare.com', unixName: 'srhea' }])), 'hosts')).not.toThrow();
  });

  test('infrastructure mode accepts the pair: the principal is the Unix name', () => {
    expect(resolveUsers([corpAdmin, vendorAdmin], 'users', {}, CertificatePrincipals.UNIX_NAME).map((u) => u.unixName)).toEqual(['corpadm', 'vendadm']);
  });

  test('fails in renderAccountTags too', () => {
    expect(() => renderAccountTags({ users: [corpAdmin, vendorAdmin] })).toThrow(/would both get certificates for principal "admin"/);
  });

  test('renderAccountTags with unix-name principals carries the pair', () => {
    const decoded = decodeAccountTags(renderAccountTags({ users: [corpAdmin, vendorAdmin], certificatePrincipals: CertificatePrincipals.UNIX_NAME }));
    expect('accounts' in decoded && decoded.accounts.map((a) => a.principals)).toEqual([['corpadm'], ['vendadm']]);
  });

  test('fails in a self-hosted AccessDroplet, and infrastructure mode is the way out', () => {
    expect(() => droplet({ users: [corpAdmin, vendorAdmin] })).toThrow(/admin@corp\.com and admin@vendor\.io/);
    const infra = droplet({
      users: [corpAdmin, vendorAdmin], mode: AccessMode.INFRASTRUCTURE, zoneId: undefined, infrastructureCaPublicKey: CA_KEY,
    });
    expect(infra.droplet).toBeDefined();
  });

  test('fails in a fleet when hosts of one access group (one application, one CA) give the local part to two people', () => {
    expect(() => fleet([
      { hostname: 'a.widgetcorp.tech', users: [corpAdmin], accessGroup: 'ops' },
      { hostname: 'b.widgetcorp.tech', users: [vendorAdmin], accessGroup: 'ops' },
    ])).toThrow(/the hosts of access group "ops": admin@corp\.com and admin@vendor\.io would both get certificates for principal "admin"/);
  });

  test('fails in a fleet when a host gives a common user\'s local part to someone else', () => {
    expect(() => fleet([{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech', users: [{ email: 'srhea@vendor.io', unixName: 'vsrhea' }] }]))
      .toThrow(/srhea@cloudflare\.com and srhea@vendor\.io/);
  });

  test('a fleet accepts the pair on hosts with different Access applications (different CAs)', () => {
    const hosts: FleetHost[] = ['a', 'b', 'c'].map((h) => ({ hostname: `${h}.widgetcorp.tech` }));
    // each host its own application (the default), or hosts in different access groups.
    const own = fleet([{ ...hosts[0], users: [corpAdmin] }, hosts[1], { ...hosts[2], users: [vendorAdmin] }]);
    expect(own.hosts[0].shortLivedCertificate).not.toBe(own.hosts[2].shortLivedCertificate);
    const grouped = fleet([
      { ...hosts[0], users: [corpAdmin], accessGroup: '1' }, { ...hosts[1], accessGroup: '1' }, { ...hosts[2], users: [vendorAdmin], accessGroup: '2' },
    ]);
    expect(grouped.accessApplications).toHaveLength(2);
  });

  test('fails on a local part starting with "#" (a comment in the principals file)', () => {
    expect(() => resolveUsers([{ email: '#ops@example.com', unixName: 'ops' }])).toThrow(
      /users\[0\]\.email "#ops@example\.com" has a local part that starts with "#", which sshd reads as a comment/,
    );
  });

  test('a "#" local part is fine in infrastructure mode, where the principal is the Unix name', () => {
    expect(resolveUsers([{ email: '#ops@example.com', unixName: 'ops' }], 'users', {}, CertificatePrincipals.UNIX_NAME)[0].unixName).toBe('ops');
  });
});

describe('no root through the side door', () => {
  test.each(['disk', 'docker', 'lxd', 'kmem', 'root', 'shadow', 'sudo', 'wheel', 'admin', 'libvirt', 'incus-admin', 'microk8s'])('fails on group %s without sudo, naming the group and why', (group) => {
    expect(() => resolveUsers([{ email: 'x@example.com', groups: [group] }])).toThrow(
      new RegExp(`users\\[0\\]\\.groups has "${group}" for x@example\\.com, a root-equivalent group \\(a member .+\\); remove it, or set sudo: true`),
    );
  });

  test('the disk group names the tunnel token it exposes', () => {
    expect(() => resolveUsers([{ email: 'x@example.com', groups: ['disk'] }])).toThrow(/tunnel\.env/);
  });

  test.each(['cdrom', 'staff', 'video', 'render', 'plugdev', 'dialout', 'kvm', 'input', 'libvirt-qemu', 'incus', 'lxc', 'ssl-cert', 'tty', 'mail'])(
    'fails on the privileged system group %s without sudo, naming the group and why', (group) => {
      expect(() => resolveUsers([{ email: 'x@example.com', groups: [group] }])).toThrow(
        new RegExp(`users\\[0\\]\\.groups has "${group}" for x@example\\.com, a privileged system group \\(a member .+\\); remove it, or set sudo: true`),
      );
    });

  test('the cdrom group names the config drive that holds the tunnel token', () => {
    expect(() => resolveUsers([{ email: 'x@example.com', groups: ['cdrom'] }])).toThrow(/config drive .*\/dev\/sr0 \(root:cdrom 0660\).*tunnel token/);
  });

  // the rule, not a list: any group an image or a package creates, reasons known or not.
  test.each(['audio', 'floppy', 'tape', 'games', 'nogroup', 'redis', 'nginx', 'mongodb', 'do-agent', 'systemd-network', 'systemd-timesync', '_ssh', '_chrony'])(
    'fails on the system group %s without sudo, saying which groups are allowed', (group) => {
      expect(() => resolveUsers([{ email: 'x@example.com', groups: [group] }])).toThrow(
        `users[0].groups has "${group}" for x@example.com, a system group (a member may own devices, sockets or files that lead to root or to the tunnel token; ` +
        'without sudo only users, www-data, adm, systemd-journal and new team groups are allowed); remove it, or set sudo: true if this person may be root anyway',
      );
    });

  test.each(['users', 'www-data', 'team-a', 'developers', 'ops_team', 'web-deployers'])('accepts the group %s without sudo and without a warning', (group) => {
    const users = resolveUsers([{ email: 'x@example.com', groups: [group] }]);
    expect(users[0].groups).toEqual([group]);
    expect(userWarnings(users)).toEqual([]);
  });

  test('accepts every system group with sudo', () => {
    const groups = ['cdrom', 'staff', 'libvirt', 'incus-admin', 'microk8s', 'audio', 'systemd-network', '_ssh', 'redis'];
    expect(resolveUsers([{ email: 'x@example.com', sudo: true, groups }])[0].groups).toEqual(groups);
  });

  test('the host agent allows the same groups without sudo as the plan does', () => {
    const agent = readFileSync(join(__dirname, '..', 'cloud-init', 'accounts'), 'utf8');
    const m = /^SAFE_GROUPS = frozenset\(\[(.*)\]\)$/m.exec(agent);
    expect(m).not.toBeNull();
    expect(m![1].split(',').map((g) => g.trim().replace(/^'|'$/g, '')).sort()).toEqual([...SAFE_GROUPS].sort());
  });

  test('accepts root-equivalent groups with sudo (they add nothing), without a warning', () => {
    const users = resolveUsers([{ email: 'x@example.com', sudo: true, groups: ['docker', 'adm'] }]);
    expect(users[0].groups).toEqual(['docker', 'adm']);
    expect(userWarnings(users)).toEqual([]);
  });

  test('accepts log groups with a warning that says what they expose', () => {
    const users = resolveUsers([{ email: 'x@example.com', groups: ['adm', 'systemd-journal', 'www-data'] }]);
    expect(userWarnings(users)).toEqual([
      expect.stringMatching(/^x@example\.com \(x\) joins group "adm", whose members read logs: it reads \/var\/log \(auth\.log/),
      expect.stringMatching(/joins group "systemd-journal".*whole system journal/),
    ]);
  });

  test('CloudInit.accountWarnings returns the warnings about users; AccessDroplet attaches them', () => {
    const users = [{ email: 'x@example.com', groups: ['adm'] }];
    expect(CloudInit.accountWarnings({ users })).toEqual([expect.stringMatching(/joins group "adm"/)]);
    expect(CloudInit.warnings({ caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN })).toEqual([]);
    expect(warningsIn(droplet({ users }))).toEqual([expect.stringMatching(/joins group "adm"/)]);
  });

  test('fails on a root-equivalent group in a fleet host\'s own users', () => {
    expect(() => fleet([{ hostname: 'a.widgetcorp.tech', users: [{ email: 'x@example.com', groups: ['docker'] }] }])).toThrow(/groups has "docker"/);
  });
});

describe('unixNames: every entry maps a listed user to a valid Unix name', () => {
  const droplet = (props: Partial<AccessDropletProps>) => () => Testing.synthScope((s) => new AccessDroplet(s, 'Test', { ...minimalProps, ...props } as AccessDropletProps));
  const fleet = (props: Record<string, unknown>) => () => Testing.synthScope((s) => new AccessDropletFleet(s, 'Fleet', {
    accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'],
    hosts: [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech', users: ['Ann.Lee@example.com'] }], ...props,
  } as any));

  test('an entry no listed user has is refused, naming it, in both constructs and the tag renderer', () => {
    const typo = { 'srhea@cloudfare.com': 'sr' };
    expect(droplet({ unixNames: typo })).toThrow('unixNames["srhea@cloudfare.com"] names no listed user; fix the email or remove the entry');
    expect(fleet({ unixNames: typo })).toThrow('unixNames["srhea@cloudfare.com"] names no listed user');
    expect(() => renderAccountTags({ users: ['srhea@cloudflare.com'], unixNames: typo })).toThrow('unixNames["srhea@cloudfare.com"] names no listed user');
  });

  test('an unused entry whose name is no Unix name, or a reserved one, is refused too', () => {
    const users = ['srhea@cloudflare.com', 'jane@example.com'];
    expect(droplet({ users, unixNames: { 'jane@example.com': 'jane', 'srhea@cloudflare.com': 'srhea' }, ...{} })).not.toThrow();
    // srhea has her own unixName, so the map entry is not used, but its value is still checked.
    const own = [{ email: 'srhea@cloudflare.com', unixName: 'sr' }];
    expect(droplet({ users: own, unixNames: { 'srhea@cloudflare.com': 'Not A Name ${x}' } })).toThrow('unixNames["srhea@cloudflare.com"] "Not A Name ${x}" is not a valid Unix user name');
    expect(droplet({ users: own, unixNames: { 'srhea@cloudflare.com': 'daemon' } })).toThrow('unixNames["srhea@cloudflare.com"] "daemon" is reserved for the system');
    expect(droplet({ users: own, unixNames: { 'srhea@cloudflare.com': 7 as unknown as string } })).toThrow('unixNames["srhea@cloudflare.com"] 7 is not a valid Unix user name');
  });

  test('keys are case-insensitive: a repeated key is refused; a key in another case still applies', () => {
    expect(droplet({ unixNames: { 'srhea@cloudflare.com': 'a', 'SRHEA@cloudflare.com': 'b' } })).toThrow('unixNames["SRHEA@cloudflare.com"] repeats "srhea@cloudflare.com"');
    expect(droplet({ unixNames: { 'SRhea@Cloudflare.com': 'sr' } })).not.toThrow();
  });

  test('a fleet entry may name a user listed on one host only', () => {
    expect(fleet({ unixNames: { 'ann.lee@example.com': 'ann' } })).not.toThrow();
    expect(fleet({ unixNames: [] })).toThrow(/unixNames must be an object of email to Unix name/);
  });

  test('generated maps: accepted exactly when every key is a listed user and every name valid and unreserved', () => {
    const emails = ['srhea@cloudflare.com', 'jane@example.com', 'ann@example.com', 'bob@example.com'];
    const names = ['sr', 'jd', 'Root', 'root', 'a b', '', 'x'.repeat(33), 'ok_1', 'nobody', '_x'];
    let seed = 7;
    const rand = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
    let accepted = 0;
    for (let i = 0; i < 300; i++) {
      const users = emails.slice(0, 1 + rand(emails.length));
      const map: Record<string, string> = {};
      for (let k = rand(3); k > 0; k--) map[emails[rand(emails.length)]] = names[rand(names.length)];
      // one name per user, or two users would share an account: keep the names distinct.
      const distinct = new Set(Object.values(map)).size === Object.keys(map).length;
      const ok = distinct && Object.entries(map).every(([e, n]) => users.includes(e) && UNIX_NAME_PATTERN.test(n) && !['root', 'nobody'].includes(n));
      const run = () => renderAccountTags({ users, unixNames: map });
      if (ok) { expect(run).not.toThrow(); accepted++; } else expect(run).toThrow();
    }
    expect(accepted).toBeGreaterThan(30);
  });
});
