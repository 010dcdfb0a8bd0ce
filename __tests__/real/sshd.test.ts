// a real sshd, configured from the files the cloud-config writes, on top of Debian's stock
// sshd_config and a DigitalOcean-style 50-cloud-init.conf that turns passwords on, must let in
// exactly the certificates Cloudflare Access issues for each user, and nothing else.
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'fs';
import { AddressInfo, createServer, Server } from 'net';
import { join } from 'path';
import { CertificatePrincipals, CloudInit } from '../../lib/cloud-init';

const SSHD_DROP_IN_NAME = CloudInit.SSHD_DROP_IN_NAME;
import {
  CloudConfig, createUsersWithCloudInit, describeReal, fakeTunnelToken, KeyPair, makeTempDir, NEEDS, newKeyPair,
  options, parseCloudConfig, removeCreatedAccounts, removeTempDirs, renderCloudInit, runAsync, runOk, RunningSshd, sshBaseArgs,
  replaceLine, signUserCert, sshdEffectiveConfig, sshWithCert, sshWithPassword, startSshd, stopAllSshds,
  TOOLS, uniqueTag, writeFile, writeFileEntry, writeSshdConfig,
} from './helpers';

const DROP_IN_PATH = `/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`;
// what DigitalOcean's images ship in /etc/ssh/sshd_config.d/50-cloud-init.conf.
const DO_CLOUD_INIT_CONF = 'PasswordAuthentication yes\n';

/** The rendered drop-in with its absolute paths moved below `root` (which stands in for /). */
function dropInBelow(cfg: CloudConfig, root: string): string {
  const rendered = writeFileEntry(cfg, DROP_IN_PATH).content!;
  const moved = replaceLine(rendered, 'TrustedUserCAKeys /etc/ssh/ca.pub', `TrustedUserCAKeys ${root}/etc/ssh/ca.pub`);
  return replaceLine(moved, 'AuthorizedPrincipalsFile /etc/ssh/auth_principals/%u', `AuthorizedPrincipalsFile ${root}/etc/ssh/auth_principals/%u`);
}

/** A TCP service on loopback only (like cloudflared's metrics, or a database) that greets and hangs up. */
async function loopbackService(banner: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.end(`${banner}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** `ssh -W 127.0.0.1:target` with a certificate: stdout is whatever the target sent. */
function sshForward(port: number, user: string, key: KeyPair, cert: string, target: number) {
  return runAsync(TOOLS.ssh, [...sshBaseArgs(port), '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-i', key.privateKey,
    '-o', `CertificateFile=${cert}`, '-W', `127.0.0.1:${target}`, `${user}@127.0.0.1`]);
}

/** The octal mode of a write_files entry. */
function mode(cfg: CloudConfig, path: string): number {
  const p = writeFileEntry(cfg, path).permissions;
  if (!p || !/^0[0-7]{3}$/.test(p)) throw new Error(`${path} has permissions ${p}`);
  return parseInt(p, 8);
}

describeReal('sshd with the Access drop-in', [NEEDS.root, NEEDS.sshd, NEEDS.ssh, NEEDS.sshKeygen, NEEDS.useradd, NEEDS.cloudInitModules], () => {
  const tag = uniqueTag();
  // unique per run, so they never clash with real accounts or a parallel test file.
  const srhea = `srhea-${tag}`;
  const janePrincipal = `jane.doe-${tag}`;
  const jdoe = `jdoe-${tag}`;

  let dir: string;
  let root: string;
  let ca: KeyPair;
  let otherCa: KeyPair;
  let userKey: KeyPair;
  let hostKey: string;
  let config: string;
  let sshd: RunningSshd;
  let dropIn: string;

  beforeAll(async () => {
    dir = makeTempDir('sshd');
    root = makeTempDir('sshd-root', { sshdSafe: true });
    ca = newKeyPair(dir, 'access-ca');
    otherCa = newKeyPair(dir, 'other-ca');
    userKey = newKeyPair(dir, 'user');
    hostKey = join(root, 'ssh_host_ed25519_key');
    runOk(TOOLS.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);

    const text = renderCloudInit(options(ca, fakeTunnelToken(), {
      users: [`${srhea}@cloudflare.com`, { email: `${janePrincipal}@example.com`, unixName: jdoe }],
    }));
    const cfg = parseCloudConfig(text);

    // the drop-in names absolute paths; the test root stands in for /.
    dropIn = dropInBelow(cfg, root);
    expect(dropIn.split('\n').filter((l) => !l.startsWith('#') && l.includes('/etc/ssh/') && !l.includes(root))).toEqual([]);

    config = writeSshdConfig(root, { [SSHD_DROP_IN_NAME]: dropIn, '50-cloud-init.conf': DO_CLOUD_INIT_CONF });
    for (const path of ['/etc/ssh/ca.pub', `/etc/ssh/auth_principals/${srhea}`, `/etc/ssh/auth_principals/${jdoe}`]) {
      writeFile(join(root, path), writeFileEntry(cfg, path).content!, mode(cfg, path));
    }

    createUsersWithCloudInit(text, dir);
    sshd = await startSshd(config, hostKey, dir);
  });

  afterAll(async () => {
    await stopAllSshds();
    try {
      await removeCreatedAccounts();
    } finally {
      removeTempDirs();
    }
  });

  test('sshd -T: the drop-in wins over 50-cloud-init.conf', () => {
    const t = sshdEffectiveConfig(config, hostKey);
    expect(t.get('pubkeyauthentication')).toEqual(['yes']);
    expect(t.get('passwordauthentication')).toEqual(['no']);
    expect(t.get('kbdinteractiveauthentication')).toEqual(['no']);
    expect(t.get('permitrootlogin')).toEqual(['no']);
    expect(t.get('trustedusercakeys')).toEqual([`${root}/etc/ssh/ca.pub`]);
    expect(t.get('authorizedprincipalsfile')).toEqual([`${root}/etc/ssh/auth_principals/%u`]);
    // locked accounts (as cloud-init creates them) get in only through PAM.
    expect(t.get('usepam')).toEqual(['yes']);
  });

  test('sshd -T: without the drop-in, 50-cloud-init.conf would turn passwords on (control)', () => {
    const controlRoot = makeTempDir('sshd-control', { sshdSafe: true });
    const controlConfig = writeSshdConfig(controlRoot, { '50-cloud-init.conf': DO_CLOUD_INIT_CONF });
    expect(sshdEffectiveConfig(controlConfig, hostKey).get('passwordauthentication')).toEqual(['yes']);
  });

  test('a certificate for principal srhea logs in as srhea', () => {
    const cert = signUserCert(ca, userKey, 'srhea-ok', [srhea]);
    const r = sshWithCert(sshd.port, srhea, userKey, cert);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(srhea);
    expect(r.status).toBe(0);
    expect(sshd.newLog()).toMatch(new RegExp(`Accepted publickey for ${srhea} from 127\\.0\\.0\\.1 .*ED25519-CERT .*ID srhea-ok`));
  });

  test('a certificate for principal jane.doe logs in as jdoe (AuthorizedPrincipalsFile)', () => {
    const cert = signUserCert(ca, userKey, 'jane-ok', [janePrincipal]);
    const r = sshWithCert(sshd.port, jdoe, userKey, cert);
    expect(r.stdout.trim()).toBe(jdoe);
    expect(r.status).toBe(0);
    expect(sshd.newLog()).toMatch(new RegExp(`Accepted publickey for ${jdoe} from .*ID jane-ok`));
  });

  // each refusal also checks sshd's reason, so a case cannot pass for an unrelated cause (a
  // missing account, an unreadable file).
  const refused = (r: { status: number | null; stdout: string; stderr: string }) => {
    expect(r.status).toBe(255);
    expect(r.stdout).toBe('');
    // the server offers publickey and nothing else.
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
  };

  test('fails with a certificate for principal jdoe: the Unix name is not a principal', () => {
    refused(sshWithCert(sshd.port, jdoe, userKey, signUserCert(ca, userKey, 'jdoe-as-principal', [jdoe])));
    expect(sshd.newLog()).toMatch(/Certificate does not contain an authorized principal/);
  });

  test("fails with another user's certificate (wrong principal)", () => {
    refused(sshWithCert(sshd.port, srhea, userKey, signUserCert(ca, userKey, 'jane-as-srhea', [janePrincipal])));
    refused(sshWithCert(sshd.port, srhea, userKey, signUserCert(ca, userKey, 'mallory', [`mallory-${tag}`])));
    const log = sshd.newLog();
    expect(log.match(/Certificate does not contain an authorized principal/g)).toHaveLength(2);
    expect(log).not.toMatch(/Accepted/);
  });

  test('fails with an expired certificate', () => {
    refused(sshWithCert(sshd.port, srhea, userKey, signUserCert(ca, userKey, 'srhea-expired', [srhea], '20200101:20200102')));
    expect(sshd.newLog()).toMatch(/Certificate invalid: expired/);
  });

  test('fails with a certificate from another CA', () => {
    refused(sshWithCert(sshd.port, srhea, userKey, signUserCert(otherCa, userKey, 'srhea-other-ca', [srhea])));
    const log = sshd.newLog();
    expect(log).toMatch(new RegExp(`Failed publickey for ${srhea} from .*ED25519-CERT .*ID srhea-other-ca`));
    expect(log).not.toMatch(/Accepted/);
  });

  test('fails with a plain key (no certificate, no authorized_keys)', () => {
    refused(sshWithCert(sshd.port, srhea, userKey, undefined));
    const log = sshd.newLog();
    expect(log).toMatch(new RegExp(`Failed publickey for ${srhea} from .* ED25519 `));
    expect(log).not.toMatch(/Accepted/);
  });

  test('fails with a plain key the user put in ~/.ssh/authorized_keys (certificates only)', () => {
    // anyone with a shell as the user could otherwise leave a key that outlives every
    // short-lived certificate and needs no Access sign-in to use.
    const home = `/home/${srhea}`;
    const uid = Number(runOk(TOOLS.id, ['-u', srhea]).stdout.trim());
    const gid = Number(runOk(TOOLS.id, ['-g', srhea]).stdout.trim());
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(home, '.ssh/authorized_keys'), `${userKey.publicKeyLine}\n`, { mode: 0o600 });
    chownSync(join(home, '.ssh'), uid, gid);
    chownSync(join(home, '.ssh/authorized_keys'), uid, gid);
    try {
      const r = sshWithCert(sshd.port, srhea, userKey, undefined);
      expect(sshd.newLog()).not.toMatch(/Accepted publickey/);
      refused(r);
      expect(sshdEffectiveConfig(config, hostKey).get('authorizedkeysfile')).toEqual(['none']);
    } finally {
      rmSync(join(home, '.ssh'), { recursive: true, force: true });
    }
  });

  test('fails for root even with a valid certificate and a principals file (PermitRootLogin no)', () => {
    // not something the cloud-config writes: it isolates PermitRootLogin from the principals check.
    writeFile(join(root, 'etc/ssh/auth_principals/root'), 'root\n');
    refused(sshWithCert(sshd.port, 'root', userKey, signUserCert(ca, userKey, 'root-ok', ['root'])));
    const log = sshd.newLog();
    // the certificate itself passed; PermitRootLogin alone turned it away.
    expect(log).toMatch(/Accepted certificate ID "root-ok"/);
    expect(log).toMatch(/ROOT LOGIN REFUSED FROM 127\.0\.0\.1/);
    expect(log).not.toMatch(/Accepted publickey/);
  });

  test('fails with the right password: password authentication is not offered', () => {
    const password = `pw-${tag}-Correct-Horse`;
    runOk(TOOLS.chpasswd, [], { input: `${srhea}:${password}\n` });
    const r = sshWithPassword(sshd.port, srhea, password, dir);
    refused(r);
    expect(r.asked).toBe(false);
    expect(sshd.newLog()).not.toMatch(/Accepted/);
  });

  test('the same password logs in without the drop-in (control for the password check)', async () => {
    const controlRoot = makeTempDir('sshd-control-login', { sshdSafe: true });
    const controlConfig = writeSshdConfig(controlRoot, { '50-cloud-init.conf': DO_CLOUD_INIT_CONF });
    const control = await startSshd(controlConfig, hostKey, dir);
    const r = sshWithPassword(control.port, srhea, `pw-${tag}-Correct-Horse`, dir);
    expect(r.asked).toBe(true);
    expect(r.stdout.trim()).toBe(srhea);
    expect(r.status).toBe(0);
    expect(control.newLog()).toMatch(new RegExp(`Accepted password for ${srhea}`));
    await control.stop();
  });

  test("fails with srhea's certificate on jdoe's account: each certificate opens only its own", () => {
    refused(sshWithCert(sshd.port, jdoe, userKey, signUserCert(ca, userKey, 'srhea-as-jdoe', [srhea])));
    expect(sshd.newLog()).toMatch(/Certificate does not contain an authorized principal/);
  });

  test('fails to render two people whose certificates would carry one principal', () => {
    // v0.1.0 wrote "srhea" into both principals files: either certificate opened both accounts.
    expect(() => renderCloudInit(options(ca, fakeTunnelToken(), {
      users: [`${srhea}@cloudflare.com`, { email: `${srhea.toUpperCase()}@vendor.io`, unixName: `vendor-${tag}` }],
    }))).toThrow(new RegExp(`${srhea}@cloudflare\\.com and ${srhea.toUpperCase()}@vendor\\.io would both get certificates for principal "${srhea}"`));
  });

  test('infrastructure mode, the way out: two people with one local part each open only their own account', async () => {
    const corp = { email: `admin-${tag}@corp.com`, unixName: `corpadm-${tag}`, sudo: true };
    const vendor = { email: `admin-${tag}@vendor.io`, unixName: `vendadm-${tag}` };
    expect(() => renderCloudInit(options(ca, fakeTunnelToken(), { users: [corp, vendor] }))).toThrow(/would both get certificates for principal/);
    const text = renderCloudInit(options(ca, fakeTunnelToken(), { users: [corp, vendor], certificatePrincipals: CertificatePrincipals.UNIX_NAME }));
    const cfg = parseCloudConfig(text);
    const infraRoot = makeTempDir('sshd-infra', { sshdSafe: true });
    const infraConfig = writeSshdConfig(infraRoot, { [SSHD_DROP_IN_NAME]: dropInBelow(cfg, infraRoot), '50-cloud-init.conf': DO_CLOUD_INIT_CONF });
    for (const path of ['/etc/ssh/ca.pub', `/etc/ssh/auth_principals/${corp.unixName}`, `/etc/ssh/auth_principals/${vendor.unixName}`]) {
      writeFile(join(infraRoot, path), writeFileEntry(cfg, path).content!, mode(cfg, path));
    }
    createUsersWithCloudInit(text, dir);
    const infra = await startSshd(infraConfig, hostKey, dir);
    try {
      const vendorCert = signUserCert(ca, userKey, 'vendor-as-vendadm', [vendor.unixName]);
      const ok = sshWithCert(infra.port, vendor.unixName, userKey, vendorCert);
      expect(ok.stdout.trim()).toBe(vendor.unixName);
      expect(ok.status).toBe(0);
      // the vendor's certificate does not open the corporate admin's (sudo) account ...
      refused(sshWithCert(infra.port, corp.unixName, userKey, vendorCert));
      // ... and a certificate for the shared local part opens neither.
      const localPart = signUserCert(ca, userKey, 'shared-local-part', [`admin-${tag}`]);
      refused(sshWithCert(infra.port, corp.unixName, userKey, localPart));
      refused(sshWithCert(infra.port, vendor.unixName, userKey, localPart));
      const log = infra.newLog();
      expect(log.match(/Certificate does not contain an authorized principal/g)).toHaveLength(3);
      expect(log.match(/Accepted publickey/g)).toHaveLength(1);
    } finally {
      await infra.stop();
    }
  });

  test('sshd -T: no forwarding of any kind, no ~/.ssh/rc', () => {
    const t = sshdEffectiveConfig(config, hostKey);
    expect(t.get('disableforwarding')).toEqual(['yes']);
    expect(t.get('allowtcpforwarding')).toEqual(['no']);
    expect(t.get('allowagentforwarding')).toEqual(['no']);
    expect(t.get('allowstreamlocalforwarding')).toEqual(['no']);
    expect(t.get('x11forwarding')).toEqual(['no']);
    expect(t.get('permittunnel')).toEqual(['no']);
    expect(t.get('gatewayports')).toEqual(['no']);
    expect(t.get('permituserrc')).toEqual(['no']);
  });

  test("sshd -T: Debian's stock config alone forwards everything (control)", () => {
    const controlRoot = makeTempDir('sshd-control-fwd', { sshdSafe: true });
    const t = sshdEffectiveConfig(writeSshdConfig(controlRoot, {}), hostKey);
    expect(t.get('disableforwarding')).toEqual(['no']);
    expect(t.get('allowtcpforwarding')).toEqual(['yes']);
    expect(t.get('allowagentforwarding')).toEqual(['yes']);
    expect(t.get('x11forwarding')).toEqual(['yes']);
    expect(t.get('permituserrc')).toEqual(['yes']);
  });

  test('fails to reach a loopback-only service with ssh -W and a valid certificate', async () => {
    const service = await loopbackService(`loopback-only-${tag}`);
    try {
      const cert = signUserCert(ca, userKey, 'srhea-pivot', [srhea]);
      const r = await sshForward(sshd.port, srhea, userKey, cert, service.port);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/stdio forwarding failed/);
      const log = sshd.newLog();
      // the login itself worked: forwarding alone was refused.
      expect(log).toMatch(new RegExp(`Accepted publickey for ${srhea} .*ID srhea-pivot`));
      expect(log).toMatch(new RegExp(`refused local port forward: .*target 127\\.0\\.0\\.1 port ${service.port}`));
    } finally {
      service.server.close();
    }
  });

  test('allowPortForwarding lets the same ssh -W through, and nothing else (opt-in control)', async () => {
    const fwdRoot = makeTempDir('sshd-fwd', { sshdSafe: true });
    const text = renderCloudInit(options(ca, fakeTunnelToken(), {
      users: [`${srhea}@cloudflare.com`, { email: `${janePrincipal}@example.com`, unixName: jdoe }], allowPortForwarding: true,
    }));
    const cfg = parseCloudConfig(text);
    const fwdConfig = writeSshdConfig(fwdRoot, { [SSHD_DROP_IN_NAME]: dropInBelow(cfg, fwdRoot), '50-cloud-init.conf': DO_CLOUD_INIT_CONF });
    for (const path of ['/etc/ssh/ca.pub', `/etc/ssh/auth_principals/${srhea}`]) {
      writeFile(join(fwdRoot, path), writeFileEntry(cfg, path).content!, mode(cfg, path));
    }
    const t = sshdEffectiveConfig(fwdConfig, hostKey);
    expect(t.get('allowtcpforwarding')).toEqual(['local']);
    expect(t.get('disableforwarding')).toEqual(['no']);
    expect([t.get('allowagentforwarding'), t.get('allowstreamlocalforwarding'), t.get('x11forwarding'), t.get('permittunnel'), t.get('permituserrc')])
      .toEqual([['no'], ['no'], ['no'], ['no'], ['no']]);
    const fwd = await startSshd(fwdConfig, hostKey, dir);
    const service = await loopbackService(`loopback-only-${tag}`);
    try {
      const r = await sshForward(fwd.port, srhea, userKey, signUserCert(ca, userKey, 'srhea-fwd', [srhea]), service.port);
      expect(r.stdout).toBe(`loopback-only-${tag}\n`);
    } finally {
      service.server.close();
      await fwd.stop();
    }
  });
});
