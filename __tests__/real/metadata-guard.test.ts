// the metadata guard, as rendered, run for real in a network namespace of its own: a stand-in
// metadata service listens on 169.254.169.254 there, and requests come from root, a system user
// and login users. Nothing touches the host's own network or firewall.
import { spawn, ChildProcess } from 'child_process';
import { accessSync, constants, mkdirSync, symlinkSync, writeFileSync } from 'fs';
import { join } from 'path';
import { describeReal, fakeTunnelToken, makeTempDir, NEEDS, parseCloudConfig, removeTempDirs, renderCloudInit, Requirement, run } from './helpers';

const CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ca';

function binary(path: string, aptPackage: string): Requirement {
  return {
    what: path,
    aptPackage,
    present: () => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

const IP = binary('/usr/sbin/ip', 'iproute2');
const NFT = binary('/usr/sbin/nft', 'nftables');
const IPTABLES = binary('/usr/sbin/iptables', 'iptables');
const CURL = binary('/usr/bin/curl', 'curl');
const SETPRIV = binary('/usr/bin/setpriv', 'util-linux');

function guardScript(restrict?: boolean): string | undefined {
  const doc = parseCloudConfig(renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken(), users: ['srhea@cloudflare.com'], restrictMetadataService: restrict }));
  return doc.write_files?.find((f) => f.path === '/usr/local/lib/cdktf-access-droplet/metadata-guard')?.content;
}

describe('metadata guard in the cloud-config', () => {
  test('is on by default, with its unit', () => {
    const doc = parseCloudConfig(renderCloudInit({ caPublicKey: CA, tunnelToken: fakeTunnelToken(), users: ['srhea@cloudflare.com'] }));
    const paths = doc.write_files!.map((f) => f.path);
    expect(paths).toContain('/usr/local/lib/cdktf-access-droplet/metadata-guard');
    expect(paths).toContain('/etc/systemd/system/cdktf-metadata-guard.service');
    const setup = doc.write_files!.find((f) => f.path === '/usr/local/lib/cdktf-access-droplet/setup')!.content!;
    // it is enabled before ssh restarts and before the tunnel can bring anyone in.
    expect(setup.indexOf('systemctl enable --now cdktf-metadata-guard.service')).toBeLessThan(setup.indexOf('systemctl restart ssh'));
  });

  test('is left out with restrictMetadataService: false', () => {
    expect(guardScript(false)).toBeUndefined();
    expect(guardScript(true)).toContain('meta skuid >= 1000 reject');
  });
});

describeReal('metadata guard, for real in a network namespace', [NEEDS.root, IP, NFT, IPTABLES, CURL, SETPRIV], () => {
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

  /** curl of the user_data as `uid`, inside the namespace. */
  function fetchAs(uid: number) {
    const asUser = uid === 0 ? [] : ['/usr/bin/setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
    return run('/usr/sbin/ip', ['netns', 'exec', ns, ...asUser, '/usr/bin/curl', '-sS', '--max-time', '5', 'http://169.254.169.254/metadata/v1/user-data']);
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
  }

  test('without the guard every local user reads the user_data (the problem it solves)', () => {
    resetFirewall();
    expect(fetchAs(1000)).toMatchObject({ status: 0, stdout: 'TUNNEL_TOKEN=secret\n' });
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

  test('fails loudly when the image has neither tool', () => {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty, { recursive: true });
    const r = run('/usr/sbin/ip', ['netns', 'exec', ns, '/usr/bin/env', `PATH=${empty}`, '/bin/sh', script]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/neither nft nor iptables is installed/);
  });
});
