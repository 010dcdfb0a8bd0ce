// the metadata guard, as rendered, run for real in a network namespace of its own: a stand-in
// metadata service listens on 169.254.169.254 there, serving the user_data (tunnel token) and the
// droplet's tags (the account list, which the root agent reads), and requests come from root, a
// system user and login users. Nothing touches the host's own network or firewall.
import { spawn, ChildProcess } from 'child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { METADATA_GUARD_ALLOW_DROP_INS, METADATA_GUARD_ALLOWED_UNITS, METADATA_GUARD_DROP_INS, renderAccountTags } from '../../lib/cloud-init';
import {
  describeReal, fakeTunnelToken, makeTempDir, NEEDS, parseCloudConfig, removeTempDirs, renderCloudInit, Requirement, run, tool, TOOLS, writeFile,
} from './helpers';

const CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca';

const IP = tool('/usr/sbin/ip', 'iproute2');
const NFT = tool('/usr/sbin/nft', 'nftables');
const IPTABLES = tool('/usr/sbin/iptables', 'iptables');
const CURL = tool('/usr/bin/curl', 'curl');
const SETPRIV = tool('/usr/bin/setpriv', 'util-linux');

function renderedFile(path: string, restrict?: boolean): string | undefined {
  const doc = parseCloudConfig(renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken(), restrictMetadataService: restrict }));
  return doc.write_files?.find((f) => f.path === path)?.content;
}

const GUARD_PATH = '/usr/local/lib/cdktf-access-droplet/metadata-guard';
// what the droplet's tags look like to the metadata service: the firewall's tag, then the accounts.
const TAGS = ['access-droplet-example', ...renderAccountTags({ users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }] })].join('\n');
const GUARD_UNIT = '/etc/systemd/system/cdktf-metadata-guard.service';

function guardScript(restrict?: boolean): string | undefined {
  return renderedFile(GUARD_PATH, restrict);
}

/** `KEY=value` lines of a unit or drop-in. */
function settings(unit: string, key: string): string[] {
  return unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

/** every systemd file of the guard, by path. */
const GUARD_FILES = [GUARD_UNIT, ...Object.values(METADATA_GUARD_DROP_INS), ...METADATA_GUARD_ALLOW_DROP_INS];

describe('metadata guard in the cloud-config', () => {
  test('is on by default, with its unit', () => {
    const doc = parseCloudConfig(renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken() }));
    const paths = doc.write_files!.map((f) => f.path);
    expect(paths).toContain('/usr/local/lib/cdktf-access-droplet/metadata-guard');
    expect(paths).toContain('/etc/systemd/system/cdktf-metadata-guard.service');
    const setup = doc.write_files!.find((f) => f.path === '/usr/local/lib/cdktf-access-droplet/setup')!.content!;
    // it is enabled before ssh restarts and before the tunnel can bring anyone in.
    expect(setup.indexOf('systemctl enable --now cdktf-metadata-guard.service')).toBeLessThan(setup.indexOf('systemctl restart ssh'));
  });

  test('is left out with restrictMetadataService: false, every layer and allow too', () => {
    expect(guardScript(false)).toBeUndefined();
    expect(guardScript(true)).toContain('meta skuid >= 1000 reject');
    for (const path of GUARD_FILES) {
      expect(renderedFile(path, false)).toBeUndefined();
      expect(renderedFile(path)).toBeDefined();
    }
    const off = renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken(), restrictMetadataService: false });
    // no file of the guard (setup.sh enables the guard only if its unit file is there).
    expect(parseCloudConfig(off).write_files!.map((f) => f.path).filter((p) => p.includes('metadata-guard'))).toEqual([]);
    // what is left are our own units' limits on themselves, the same with and without the guard:
    // the accounts agent talks to the metadata service only, the updater never to it.
    const limits = (restrict: boolean) => parseCloudConfig(renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken(), restrictMetadataService: restrict }))
      .write_files!.filter((f) => /^IPAddress(Allow|Deny)=/m.test(f.content ?? '') && !f.path.includes('cdktf-metadata-guard'))
      .map((f) => [f.path, (f.content ?? '').split('\n').filter((l) => /^IPAddress(Allow|Deny)=/.test(l))]);
    expect(limits(false)).toEqual([
      ['/etc/systemd/system/cdktf-access-accounts.service', ['IPAddressAllow=169.254.169.254', 'IPAddressDeny=any']],
      ['/etc/systemd/system/cdktf-cloudflared-update.service', ['IPAddressDeny=169.254.169.254']],
    ]);
    expect(limits(true)).toEqual(limits(false));
  });

  test('the layer no ruleset flush touches: IPAddressDeny on -.slice, the root of every slice', () => {
    expect(settings(renderedFile(METADATA_GUARD_DROP_INS.rootSlice)!, 'IPAddressDeny')).toEqual(['169.254.169.254']);
    expect(renderedFile(METADATA_GUARD_DROP_INS.rootSlice)).toMatch(/^\[Slice\]$/m);
  });

  test('IPAddressAllow only on the listed root services, and on nothing else the guard writes', () => {
    expect(METADATA_GUARD_ALLOWED_UNITS).toEqual([
      'cloud-init-local.service', 'cloud-init.service', 'cloud-init-network.service', 'cloud-init-main.service',
      'cloud-config.service', 'cloud-final.service', 'cloud-init-hotplugd.service',
      'droplet-agent.service', 'do-agent.service', 'cdktf-access-accounts.service',
    ]);
    for (const [i, unit] of METADATA_GUARD_ALLOWED_UNITS.entries()) {
      expect(METADATA_GUARD_ALLOW_DROP_INS[i]).toBe(`/etc/systemd/system/${unit}.d/cdktf-metadata-guard.conf`);
      const dropIn = renderedFile(METADATA_GUARD_ALLOW_DROP_INS[i])!;
      expect(settings(dropIn, 'IPAddressAllow')).toEqual(['169.254.169.254']);
      expect(dropIn.split('\n').filter((l) => /^[A-Za-z]+=/.test(l))).toEqual(['IPAddressAllow=169.254.169.254']);
    }
    // the whole cloud-config: an allow anywhere else would be a way past the deny.
    const doc = parseCloudConfig(renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken() }));
    // (an allowed unit may also carry the allow in its own unit file: the accounts agent does, so
    // that it reaches the metadata service and nothing else, guard or no guard.)
    const allowing = doc.write_files!.filter((f) => /^\s*IPAddressAllow=/m.test(f.content ?? '')).map((f) => f.path);
    const ownUnitFiles = METADATA_GUARD_ALLOWED_UNITS.map((unit) => `/etc/systemd/system/${unit}`);
    expect(allowing.filter((p) => !ownUnitFiles.includes(p))).toEqual([...METADATA_GUARD_ALLOW_DROP_INS]);
    expect(allowing.filter((p) => ownUnitFiles.includes(p))).toEqual(['/etc/systemd/system/cdktf-access-accounts.service']);
  });

  test('ssh and cloudflared start only once the guard holds; nftables.service puts the rule back after start, reload and stop', () => {
    for (const service of [METADATA_GUARD_DROP_INS.ssh, METADATA_GUARD_DROP_INS.cloudflared]) {
      const dropIn = renderedFile(service)!;
      expect(settings(dropIn, 'Requires')).toEqual(['cdktf-metadata-guard.service']);
      expect(settings(dropIn, 'After')).toEqual(['cdktf-metadata-guard.service']);
    }
    expect(settings(renderedFile(GUARD_UNIT)!, 'After')).toEqual(['local-fs.target nftables.service firewalld.service']);
    const nftables = renderedFile(METADATA_GUARD_DROP_INS.nftables)!;
    for (const key of ['ExecStartPost', 'ExecReload', 'ExecStopPost']) expect(settings(nftables, key)).toEqual([`-${GUARD_PATH}`]);
  });
});

// the stock units the drop-ins extend, as Debian's packages ship them.
const unitFile = (name: string, aptPackage: string): Requirement => ({
  what: `/lib/systemd/system/${name}`, aptPackage, present: () => existsSync(`/lib/systemd/system/${name}`),
});

describeReal('metadata guard units, checked by systemd', [NEEDS.systemdAnalyze, unitFile('ssh.service', 'openssh-server'), unitFile('nftables.service', 'nftables')], () => {
  let units: string;
  const VERIFIED = ['cdktf-metadata-guard.service', '-.slice', 'ssh.service', 'cloudflared-access.service', 'nftables.service', ...METADATA_GUARD_ALLOWED_UNITS];

  /**
   * the rendered units and drop-ins in a unit directory, the guard's paths moved below `dir`;
   * a listed unit this machine does not have (DigitalOcean's agents, newer cloud-init's) gets a
   * minimal fragment, so its drop-in is read and checked all the same.
   */
  function writeUnits(dir: string, edit: (path: string, content: string) => string = (_, c) => c): string {
    const script = join(dir, 'metadata-guard');
    writeFile(script, guardScript()!, 0o755);
    const unitDir = join(dir, 'units');
    for (const path of [...GUARD_FILES, '/etc/systemd/system/cloudflared-access.service']) {
      let content = renderedFile(path)!.split(GUARD_PATH).join(script);
      // this machine has no cloudflared; the droplet does.
      content = content.replace(/^ExecStart=\/usr\/bin\/cloudflared /m, 'ExecStart=/bin/true ');
      writeFile(join(unitDir, path.slice('/etc/systemd/system/'.length)), edit(path, content));
    }
    for (const unit of METADATA_GUARD_ALLOWED_UNITS) {
      if (!existsSync(`/lib/systemd/system/${unit}`)) writeFile(join(unitDir, unit), '[Service]\nType=oneshot\nExecStart=/bin/true\n');
    }
    return unitDir;
  }

  /** `systemd-analyze verify` of the units by name: each with its drop-ins from `unitDir`, then the system's unit path. */
  function verify(unitDir: string) {
    return run(TOOLS.systemdAnalyze, ['verify', '--man=no', '--', ...VERIFIED], {
      env: { ...process.env, SYSTEMD_UNIT_PATH: `${unitDir}:` },
    });
  }

  beforeAll(() => {
    units = writeUnits(makeTempDir('guard-units'));
  });
  afterAll(() => removeTempDirs());

  test('systemd-analyze verify accepts every unit and drop-in (-.slice, the allowed units, ssh, cloudflared, nftables) without a warning', () => {
    const r = verify(units);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  test('systemd-analyze verify reads each drop-in: a misspelled key or bad address in any of them is reported (control)', () => {
    const broken = writeUnits(makeTempDir('guard-units-broken'), (path, content) =>
      path === METADATA_GUARD_DROP_INS.rootSlice ? content.replace('IPAddressDeny=', 'IPAddressDenny=')
        : path === METADATA_GUARD_ALLOW_DROP_INS[0] ? content.replace('IPAddressAllow=169.254.169.254', 'IPAddressAllow=169.254.169.2549')
          : path === METADATA_GUARD_ALLOW_DROP_INS[METADATA_GUARD_ALLOW_DROP_INS.length - 1] ? content.replace('IPAddressAllow=', 'IPAddressAlow=')
            : path === METADATA_GUARD_DROP_INS.ssh ? content.replace('Requires=', 'Require=')
              : path === METADATA_GUARD_DROP_INS.nftables ? content.replace('ExecStopPost=', 'ExecStopPosts=') : content);
    const r = verify(broken);
    expect(r.stderr).toMatch(/-\.slice\.d\/cdktf-metadata-guard\.conf:\d+: Unknown key 'IPAddressDenny' in section \[Slice\]/);
    expect(r.stderr).toMatch(new RegExp(`${METADATA_GUARD_ALLOWED_UNITS[0].replace(/\./g, '\\.')}\\.d/cdktf-metadata-guard\\.conf:\\d+: .*169\\.254\\.169\\.2549`));
    expect(r.stderr).toMatch(/cdktf-access-accounts\.service\.d\/cdktf-metadata-guard\.conf:\d+: Unknown key 'IPAddressAlow'/);
    expect(r.stderr).toMatch(/ssh\.service\.d\/cdktf-metadata-guard\.conf:\d+: Unknown key 'Require'/);
    expect(r.stderr).toMatch(/nftables\.service\.d\/cdktf-metadata-guard\.conf:\d+: Unknown key 'ExecStopPosts'/);
  });
});

describeReal('metadata guard, for real in a network namespace', [NEEDS.root, IP, NFT, IPTABLES, CURL, SETPRIV, unitFile('nftables.service', 'nftables')], () => {
  const ns = `cdktf-md-${process.pid}`;
  let server: ChildProcess | undefined;
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = makeTempDir('metadata-guard');
    script = join(dir, 'metadata-guard');
    writeFileSync(script, guardScript()!, { mode: 0o755 });
    mkdirSync(join(dir, 'www', 'metadata', 'v1'), { recursive: true });
    writeFileSync(join(dir, 'www', 'metadata', 'v1', 'user-data'), 'TUNNEL_TOKEN=secret\n');
    // http.server answers /metadata/v1/tags/ with the directory's index.html.
    mkdirSync(join(dir, 'www', 'metadata', 'v1', 'tags'));
    writeFileSync(join(dir, 'www', 'metadata', 'v1', 'tags', 'index.html'), TAGS);
    for (const args of [['netns', 'add', ns], ['-n', ns, 'link', 'set', 'lo', 'up'], ['-n', ns, 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']]) {
      const r = run('/usr/sbin/ip', args);
      if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
    }
    server = spawn('/usr/sbin/ip', ['netns', 'exec', ns, 'python3', '-m', 'http.server', '80', '--bind', '169.254.169.254', '--directory', join(dir, 'www')], { stdio: 'ignore' });
    // wait until the stand-in metadata service answers root.
    for (let i = 0; i < 50 && fetchAs(0).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  });

  afterAll(() => {
    server?.kill('SIGKILL');
    run('/usr/sbin/ip', ['netns', 'delete', ns]);
    removeTempDirs();
  });

  /** curl of the user_data (or another path of the metadata service) as `uid`, inside the namespace. */
  function fetchAs(uid: number, path = 'user-data') {
    const asUser = uid === 0 ? [] : ['/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    return run('/usr/sbin/ip', ['netns', 'exec', ns, ...asUser, '/usr/bin/curl', '-sS', '--max-time', '5', `http://169.254.169.254/metadata/v1/${path}`]);
  }

  function resetFirewall() {
    run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/nft', 'flush', 'ruleset']);
  }

  function expectGuarded() {
    expect(fetchAs(0)).toMatchObject({ status: 0, stdout: 'TUNNEL_TOKEN=secret\n' });
    // a system service (DigitalOcean's agents run as system users) keeps the metadata service.
    expect(fetchAs(999)).toMatchObject({ status: 0, stdout: 'TUNNEL_TOKEN=secret\n' });
    for (const uid of [1000, 1001, 61184, 65534]) {
      const r = fetchAs(uid);
      expect({ uid, status: r.status, stdout: r.stdout }).toEqual({ uid, status: 7, stdout: '' }); // curl 7: connection refused
    }
    // the account list: the agent (root) reads it, a login user does not.
    expect(fetchAs(0, 'tags/')).toMatchObject({ status: 0, stdout: TAGS });
    expect(fetchAs(1000, 'tags/')).toMatchObject({ status: 7, stdout: '' });
  }

  test('without the guard every local user reads the user_data and the account tags (the problem it solves)', () => {
    resetFirewall();
    expect(fetchAs(1000)).toMatchObject({ status: 0, stdout: 'TUNNEL_TOKEN=secret\n' });
    expect(fetchAs(1000, 'tags/')).toMatchObject({ status: 0, stdout: TAGS });
  });

  test('with nft: login users are refused, root and system users are not; a second run changes nothing', () => {
    resetFirewall();
    for (let i = 0; i < 2; i++) {
      expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/bin/sh', script])).toMatchObject({ status: 0 });
    }
    const rules = run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/nft', 'list', 'ruleset']).stdout;
    expect(rules.match(/meta skuid >= 1000 reject/g)).toHaveLength(1);
    expectGuarded();
  });

  test('with iptables only (no nft on the image): the same, once', () => {
    resetFirewall();
    const bin = join(dir, 'bin-without-nft');
    mkdirSync(bin, { recursive: true });
    for (const c of ['iptables']) symlinkSync(`/usr/sbin/${c}`, join(bin, c));
    for (let i = 0; i < 2; i++) {
      expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/bin/env', `PATH=${bin}`, '/bin/sh', script])).toMatchObject({ status: 0 });
    }
    const rules = run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/iptables', '-S', 'OUTPUT']).stdout;
    expect(rules.match(/--uid-owner 1000-4294967294 -j REJECT/g)).toHaveLength(1);
    expectGuarded();
    run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/iptables', '-F', 'OUTPUT']);
  });

  test('nft flush ruleset removes the nft layer: why the cgroup layer is needed', () => {
    resetFirewall();
    expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/bin/sh', script])).toMatchObject({ status: 0 });
    expectGuarded();
    // what nftables.service does on start and reload, and firewalld and admins do the like.
    expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/sbin/nft', 'flush', 'ruleset'])).toMatchObject({ status: 0 });
    expect(fetchAs(1000)).toMatchObject({ status: 0, stdout: 'TUNNEL_TOKEN=secret\n' });
  });

  /**
   * What systemd runs for `verb` of nftables.service with the guard's drop-in: the stock unit's
   * commands (Debian's, from this machine) and then the drop-in's, in systemd's order; a restart
   * is a stop, then a start. /etc/nftables.conf is replaced by a copy of Debian's shape (it starts
   * with `flush ruleset`), the guard's path by this test's copy.
   */
  function nftablesCommands(verb: 'start' | 'reload' | 'stop' | 'restart', conf: string): string[] {
    if (verb === 'restart') return [...nftablesCommands('stop', conf), ...nftablesCommands('start', conf)];
    const stock = readFileSync('/lib/systemd/system/nftables.service', 'utf8');
    const dropIn = renderedFile(METADATA_GUARD_DROP_INS.nftables)!;
    const keys = { start: ['ExecStart', 'ExecStartPost'], reload: ['ExecReload'], stop: ['ExecStop', 'ExecStopPost'] }[verb];
    // lists of one key from a unit and its drop-ins are appended, in that order.
    return keys.flatMap((key) => [...settings(stock, key), ...settings(dropIn, key)])
      .map((c) => c.replace(/^-/, '').replace('/etc/nftables.conf', conf).replace(GUARD_PATH, script));
  }

  for (const verb of ['start', 'reload', 'restart', 'stop'] as const) {
    test(`\`systemctl ${verb} nftables\` (its commands flush the ruleset) leaves the guard in place, through the drop-in`, () => {
      resetFirewall();
      expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/bin/sh', script])).toMatchObject({ status: 0 });
      const conf = join(dir, 'nftables.conf');
      writeFileSync(conf, 'flush ruleset\ntable inet filter {\n  chain output { type filter hook output priority 0; policy accept; }\n}\n');
      const commands = nftablesCommands(verb, conf);
      // the stock commands alone: the rule is gone (the control: the drop-in is what brings it back).
      for (const c of commands.filter((x) => !x.includes(script))) {
        expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/bin/sh', '-c', c])).toMatchObject({ status: 0 });
      }
      expect(fetchAs(1000)).toMatchObject({ status: 0, stdout: 'TUNNEL_TOKEN=secret\n' });
      resetFirewall();
      expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/bin/sh', script])).toMatchObject({ status: 0 });
      // then everything systemd runs, in order.
      expect(commands.some((c) => c.includes(script))).toBe(true);
      for (const c of commands) expect(run('/usr/sbin/ip', ['netns', 'exec', ns, '/bin/sh', '-c', c])).toMatchObject({ status: 0 });
      expectGuarded();
    });
  }

  test('fails loudly when the image has neither tool', () => {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const r = run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/bin/env', `PATH=${empty}`, '/bin/sh', script]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/neither nft nor iptables is installed/);
  });
});
