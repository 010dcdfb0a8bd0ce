// the cloudflared service the cloud-config installs must be a unit systemd accepts as written,
// and the tunnel token must reach it only through the root-only environment file.
import { readFileSync } from 'fs';
import { join } from 'path';
import {
  CloudConfig, describeReal, fakeTunnelToken, makeTempDir, NEEDS, newKeyPair, options, parseCloudConfig,
  removeTempDirs, renderCloudInit, runOk, run, TOOLS, writeFile, writeFileEntry,
} from './helpers';

const UNIT_PATH = '/etc/systemd/system/cloudflared-access.service';
const TOKEN_PATH = '/etc/cloudflared-access/tunnel.env';
const SETUP_PATH = '/usr/local/lib/cdktf-access-droplet/setup';
const CLOUDFLARED = '/usr/bin/cloudflared';

/** The values of `key=` lines in a unit file, in order. */
function unitValues(unit: string, key: string): string[] {
  return unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

describeReal('the cloudflared-access service', [NEEDS.systemdAnalyze, NEEDS.sshKeygen], () => {
  let dir: string;
  let token: string;
  let text: string;
  let cfg: CloudConfig;
  let unit: string;

  beforeAll(() => {
    dir = makeTempDir('unit');
    token = fakeTunnelToken();
    text = renderCloudInit(options(newKeyPair(dir, 'access-ca'), token));
    cfg = parseCloudConfig(text);
    unit = writeFileEntry(cfg, UNIT_PATH).content!;
  });
  afterAll(() => removeTempDirs());

  /** Runs `systemd-analyze verify` on `content` saved as cloudflared-access.service. */
  function verify(content: string, subdir: string) {
    const file = join(dir, subdir, 'cloudflared-access.service');
    writeFile(file, content);
    return run(TOOLS.systemdAnalyze, ['verify', '--man=no', file]);
  }

  /** The unit with only ExecStart's program moved to an executable stub: the droplet has cloudflared, this machine does not. */
  function withStub(content: string): string {
    const stub = join(dir, 'bin', 'cloudflared');
    writeFile(stub, '#!/bin/sh\nexit 0\n', 0o755);
    const from = `ExecStart=${CLOUDFLARED} `;
    expect(content.split('\n').filter((l) => l.startsWith(from))).toHaveLength(1);
    return content.replace(from, `ExecStart=${stub} `);
  }

  test('systemd-analyze verify accepts the unit without a single warning', () => {
    const r = verify(withStub(unit), 'verify');
    // verify exits 0 on unknown keys and unparsable values, so its output must be empty too.
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  test('systemd-analyze verify reports a misspelled key and a bad value (control)', () => {
    const broken = withStub(unit).replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes').replace('Type=notify', 'Type=notfy');
    const r = verify(broken, 'control');
    expect(r.stderr).toMatch(/Unknown key 'NoNewPrivilege'/);
    expect(r.stderr).toMatch(/Failed to parse service type/);
  });

  test('systemd-analyze verify on the unit as written only misses the cloudflared binary', () => {
    const r = verify(unit, 'as-written');
    // this machine has no cloudflared; that message, and only that one, is expected here.
    const lines = r.stderr.split('\n').filter((l) => l);
    expect(lines).toEqual([`cloudflared-access.service: Command ${CLOUDFLARED} is not executable: No such file or directory`]);
  });

  test('systemd parses the hardening the unit asks for', () => {
    const file = join(dir, 'security', 'cloudflared-access.service');
    writeFile(file, withStub(unit));
    const r = runOk(TOOLS.systemdAnalyze, ['security', '--offline=true', '--json=short', file]);
    const checks = new Map((JSON.parse(r.stdout) as Array<{ json_field: string; set: boolean }>).map((c) => [c.json_field, c.set]));
    for (const field of ['UserOrDynamicUser', 'NoNewPrivileges', 'ProtectSystem', 'ProtectHome', 'PrivateTmp',
      'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectControlGroups']) {
      expect([field, checks.get(field)]).toEqual([field, true]);
    }
  });

  test('EnvironmentFile is the root-only token file, required to exist', () => {
    // no "-" prefix: without the token the service must fail, not start with no credentials.
    expect(unitValues(unit, 'EnvironmentFile')).toEqual([TOKEN_PATH]);
    const env = writeFileEntry(cfg, TOKEN_PATH);
    expect(env.permissions).toBe('0600');
    expect(env.owner).toBe('root:root');
    expect(env.content).toBe(`TUNNEL_TOKEN=${token}\n`);
    // a systemd environment file value with no quotes, spaces or backslashes needs no escaping.
    expect(token).toMatch(/^[A-Za-z0-9+/=]+$/);
  });

  test('ExecStart runs the tunnel with no token on the command line', () => {
    const exec = unitValues(unit, 'ExecStart');
    expect(exec).toEqual([`${CLOUDFLARED} --no-autoupdate tunnel run`]);
    expect(exec.join('\n')).not.toMatch(/token/i);
  });

  test('the token appears only in the token file', () => {
    expect(text.split(token)).toHaveLength(2);
    const holders = cfg.write_files.filter((f) => f.content?.includes(token)).map((f) => f.path);
    expect(holders).toEqual([TOKEN_PATH]);
    expect(unit).not.toContain(token);
    expect(JSON.stringify(cfg.runcmd)).not.toContain(token);
    expect(cfg.users).toEqual([]);
  });

  test('the setup script parses with sh -n and starts the unit it was given', () => {
    const setup = writeFileEntry(cfg, SETUP_PATH);
    expect(setup.permissions).toBe('0755');
    const file = join(dir, 'setup');
    writeFile(file, setup.content!, 0o755);
    expect(run(TOOLS.sh, ['-n', file])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(readFileSync(file, 'utf8').split('\n')[0]).toBe('#!/bin/sh');
    expect(setup.content).toMatch(/^set -eu$/m);
    expect(setup.content).toMatch(/^systemctl enable --now --no-block cloudflared-access\.service$/m);
    // the accounts from the droplet's tags exist before sshd takes the drop-in and the tunnel brings anyone.
    const order = ['/usr/local/lib/cdktf-access-droplet/accounts --once', 'systemctl restart ssh', 'systemctl enable --now --no-block cloudflared-access.service']
      .map((s) => setup.content!.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(setup.content).not.toContain(token);
  });
});
