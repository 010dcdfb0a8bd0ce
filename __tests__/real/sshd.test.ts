// a real sshd on a host set up the way a droplet sets itself up: cloud-init's own write_files
// module writes the rendered user_data (drop-in, CA key, the accounts agent), the agent it
// installed creates the accounts and principals files from the droplet's account tags
// (renderAccountTags) served by a stand-in metadata service, and DigitalOcean's
// 50-cloud-init.conf turns passwords on. sshd must let in exactly the certificates Cloudflare
// Access issues for each user, and nothing else. All of it runs in private mount and PID
// namespaces (helpers/host.ts): the machine's accounts and sshd are never touched.
import { AddressInfo, createServer, Server } from 'net';
import { CertificatePrincipals, CloudInit, renderAccountTags } from '../../lib/cloud-init';
import { AccessUserInput } from '../../lib/users';
import {
  describeReal, fakeTunnelToken, HostNamespace, KeyPair, makeTempDir, NamespaceSshd, NEEDS, NEEDS_HOST, newKeyPair, options,
  parseCloudConfig, removeTempDirs, renderCloudInit, runAsync, runInstalledAgent, sshBaseArgs, signUserCert, sshdEffectiveConfig,
  sshWithCert, sshWithPassword, startHostNamespace, startSshdIn, stopHostNamespaces, TagServer, TOOLS, uniqueTag, writeFile,
  writeFileEntry, writeFilesInNamespace, writeSshdConfig,
} from './helpers';

const SSHD_DROP_IN_NAME = CloudInit.SSHD_DROP_IN_NAME;
const DROP_IN_PATH = `/etc/ssh/sshd_config.d/${SSHD_DROP_IN_NAME}`;
// what DigitalOcean's images ship in /etc/ssh/sshd_config.d/50-cloud-init.conf.
const DO_CLOUD_INIT_CONF = 'PasswordAuthentication yes\n';

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

/** `sshd -T` inside the namespace: the effective configuration, keyword (lower case) → values. */
function effectiveIn(ns: HostNamespace, hostKey: string, config = '/etc/ssh/sshd_config'): Map<string, string[]> {
  const r = ns.run(TOOLS.sshd, ['-T', '-f', config, '-h', hostKey]);
  if (r.status !== 0) throw new Error(`sshd -T exited ${r.status}: ${r.stderr}`);
  const map = new Map<string, string[]>();
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m) map.set(m[1], [...(map.get(m[1]) ?? []), m[2]]);
  }
  return map;
}

/**
 * A droplet's first boot as far as sshd goes, in a namespace of its own: DigitalOcean's
 * 50-cloud-init.conf, cloud-init's write_files over `userData`, the installed agent once over
 * `tags`; returns the namespace and the agent's run.
 */
async function bootHost(dir: string, userData: string, tags: string[], server: TagServer, url: string) {
  const ns = await startHostNamespace(dir, `printf '${DO_CLOUD_INIT_CONF.trim()}\\n' > /etc/ssh/sshd_config.d/50-cloud-init.conf`);
  writeFilesInNamespace(ns, userData, dir);
  // the firewall's tag comes first on a droplet; the agent reads only the cdad: ones.
  server.tags = ['access-droplet-example', ...tags];
  const agent = await runInstalledAgent(ns, url);
  return { ns, agent };
}

describeReal('sshd with the Access drop-in, on accounts the agent made from the tags', [...NEEDS_HOST, NEEDS.cloudInitModules], () => {
  const tag = uniqueTag();
  // unique per run, so a failure can never be mistaken for another run's account.
  const srhea = `srhea-${tag}`;
  // a local part with capitals: Access signs it as the IdP spells it; the account takes both spellings.
  const janePrincipal = `Jane.Doe-${tag}`;
  const jdoe = `jdoe-${tag}`;
  const users: AccessUserInput[] = [`${srhea}@cloudflare.com`, { email: `${janePrincipal}@example.com`, unixName: jdoe }];

  let dir: string;
  let ca: KeyPair;
  let otherCa: KeyPair;
  let userKey: KeyPair;
  let hostKey: string;
  let server: TagServer;
  let url: string;
  let text: string;
  let ns: HostNamespace;
  let agentLog: string;
  let sshd: NamespaceSshd;

  beforeAll(async () => {
    dir = makeTempDir('sshd');
    ca = newKeyPair(dir, 'access-ca');
    otherCa = newKeyPair(dir, 'other-ca');
    userKey = newKeyPair(dir, 'user');
    hostKey = newKeyPair(dir, 'host').privateKey;
    server = new TagServer();
    url = await server.listen();
    text = renderCloudInit(options(ca, fakeTunnelToken()));
    const booted = await bootHost(dir, text, renderAccountTags({ users }), server, url);
    ns = booted.ns;
    agentLog = booted.agent.stderr;
    expect(booted.agent.status).toBe(0);
    sshd = await startSshdIn(ns, dir, hostKey);
  });

  afterAll(async () => {
    stopHostNamespaces();
    await server?.close();
    removeTempDirs();
  });

  test('the accounts come from the tags, not the user_data: the agent cloud-init installed made them', () => {
    expect(text).not.toContain(srhea);
    expect(text).not.toContain(jdoe);
    expect(agentLog).toContain(`created account ${srhea} (${srhea}@cloudflare.com, uid `);
    expect(agentLog).toContain(`created account ${jdoe} (${janePrincipal}@example.com, uid `);
    expect(ns.read(`/etc/ssh/auth_principals/${srhea}`)).toBe(`${srhea}\n`);
    expect(ns.read(`/etc/ssh/auth_principals/${jdoe}`)).toBe(`${janePrincipal}\n${janePrincipal.toLowerCase()}\n`);
    // the CA key and the drop-in are the ones the user_data carries.
    const cfg = parseCloudConfig(text);
    expect(ns.read('/etc/ssh/ca.pub')).toBe(`${ca.publicKeyLine}\n`);
    expect(ns.read(DROP_IN_PATH)).toBe(writeFileEntry(cfg, DROP_IN_PATH).content);
  });

  test('sshd -T: the drop-in wins over 50-cloud-init.conf', () => {
    const t = effectiveIn(ns, hostKey);
    expect(t.get('pubkeyauthentication')).toEqual(['yes']);
    expect(t.get('passwordauthentication')).toEqual(['no']);
    expect(t.get('kbdinteractiveauthentication')).toEqual(['no']);
    expect(t.get('permitrootlogin')).toEqual(['no']);
    expect(t.get('trustedusercakeys')).toEqual(['/etc/ssh/ca.pub']);
    expect(t.get('authorizedprincipalsfile')).toEqual(['/etc/ssh/auth_principals/%u']);
    // locked accounts (as the agent creates them) get in only through PAM.
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

  test('a certificate for principal Jane.Doe, or its lower-case spelling, logs in as jdoe (AuthorizedPrincipalsFile)', () => {
    for (const principal of [janePrincipal, janePrincipal.toLowerCase()]) {
      const r = sshWithCert(sshd.port, jdoe, userKey, signUserCert(ca, userKey, `jane-ok-${principal}`, [principal]));
      expect(r.stdout.trim()).toBe(jdoe);
      expect(r.status).toBe(0);
    }
    expect(sshd.newLog().match(new RegExp(`Accepted publickey for ${jdoe} from .*ID jane-ok-`, 'g'))).toHaveLength(2);
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

  test('fails with a certificate for another spelling of the principal than the two listed', () => {
    refused(sshWithCert(sshd.port, jdoe, userKey, signUserCert(ca, userKey, 'jane-upper', [janePrincipal.toUpperCase()])));
    expect(sshd.newLog()).toMatch(/Certificate does not contain an authorized principal/);
  });

  test("fails with another user's certificate (wrong principal)", () => {
    refused(sshWithCert(sshd.port, srhea, userKey, signUserCert(ca, userKey, 'jane-as-srhea', [janePrincipal])));
    refused(sshWithCert(sshd.port, srhea, userKey, signUserCert(ca, userKey, 'mallory', [`mallory-${tag}`])));
    const log = sshd.newLog();
    expect(log.match(/Certificate does not contain an authorized principal/g)).toHaveLength(2);
    expect(log).not.toMatch(/Accepted/);
  });

  test("fails with srhea's certificate on jdoe's account: each certificate opens only its own", () => {
    refused(sshWithCert(sshd.port, jdoe, userKey, signUserCert(ca, userKey, 'srhea-as-jdoe', [srhea])));
    expect(sshd.newLog()).toMatch(/Certificate does not contain an authorized principal/);
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
    const ssh = `/home/${srhea}/.ssh`;
    const put = ns.run('/bin/sh', ['-c', `umask 077 && mkdir -p ${ssh} && cat > ${ssh}/authorized_keys && chown -R ${srhea}: ${ssh}`], `${userKey.publicKeyLine}\n`);
    expect(put.status).toBe(0);
    try {
      const r = sshWithCert(sshd.port, srhea, userKey, undefined);
      expect(sshd.newLog()).not.toMatch(/Accepted publickey/);
      refused(r);
      expect(effectiveIn(ns, hostKey).get('authorizedkeysfile')).toEqual(['none']);
    } finally {
      ns.run('/bin/rm', ['-rf', ssh]);
    }
  });

  test('fails for root even with a valid certificate and a principals file (PermitRootLogin no)', () => {
    // not something the agent writes: it isolates PermitRootLogin from the principals check.
    writeFile(ns.path('/etc/ssh/auth_principals/root'), 'root\n');
    try {
      refused(sshWithCert(sshd.port, 'root', userKey, signUserCert(ca, userKey, 'root-ok', ['root'])));
      const log = sshd.newLog();
      // the certificate itself passed; PermitRootLogin alone turned it away.
      expect(log).toMatch(/Accepted certificate ID "root-ok"/);
      expect(log).toMatch(/ROOT LOGIN REFUSED FROM 127\.0\.0\.1/);
      expect(log).not.toMatch(/Accepted publickey/);
    } finally {
      ns.run('/bin/rm', ['-f', '/etc/ssh/auth_principals/root']);
    }
  });

  test('fails with the right password: password authentication is not offered', () => {
    const password = `pw-${tag}-Correct-Horse`;
    expect(ns.run(TOOLS.chpasswd, [], `${srhea}:${password}\n`).status).toBe(0);
    const r = sshWithPassword(sshd.port, srhea, password, dir);
    refused(r);
    expect(r.asked).toBe(false);
    expect(sshd.newLog()).not.toMatch(/Accepted/);
  });

  test('the same password logs in without the drop-in (control for the password check)', async () => {
    const controlRoot = makeTempDir('sshd-control-login', { sshdSafe: true });
    const controlConfig = writeSshdConfig(controlRoot, { '50-cloud-init.conf': DO_CLOUD_INIT_CONF });
    const control = await startSshdIn(ns, dir, hostKey, controlConfig);
    try {
      const r = sshWithPassword(control.port, srhea, `pw-${tag}-Correct-Horse`, dir);
      expect(r.asked).toBe(true);
      expect(r.stdout.trim()).toBe(srhea);
      expect(r.status).toBe(0);
      expect(control.newLog()).toMatch(new RegExp(`Accepted password for ${srhea}`));
    } finally {
      control.stop();
    }
  });

  test('fails to make tags for two people whose certificates would carry one principal, whatever its case', () => {
    // v0.1.0 wrote "srhea" into both principals files: either certificate opened both accounts.
    expect(() => renderAccountTags({
      users: [`${srhea}@cloudflare.com`, { email: `${srhea.toUpperCase()}@vendor.io`, unixName: `vendor-${tag}` }],
    })).toThrow(new RegExp(`${srhea}@cloudflare\\.com and ${srhea.toUpperCase()}@vendor\\.io would both get certificates for principal "${srhea}"`));
  });

  test('infrastructure mode, the way out: two people with one local part each open only their own account', async () => {
    const corp = { email: `admin-${tag}@corp.com`, unixName: `corpadm-${tag}`, sudo: true };
    const vendor = { email: `admin-${tag}@vendor.io`, unixName: `vendadm-${tag}` };
    expect(() => renderAccountTags({ users: [corp, vendor] })).toThrow(/would both get certificates for principal/);
    const tags = renderAccountTags({ users: [corp, vendor], certificatePrincipals: CertificatePrincipals.UNIX_NAME });
    // the same user_data: only the tags differ between the modes.
    const infra = await bootHost(dir, text, tags, server, url);
    expect(infra.agent.status).toBe(0);
    expect(infra.ns.read(`/etc/ssh/auth_principals/${vendor.unixName}`)).toBe(`${vendor.unixName}\n`);
    const infraSshd = await startSshdIn(infra.ns, dir, hostKey);
    const vendorCert = signUserCert(ca, userKey, 'vendor-as-vendadm', [vendor.unixName]);
    const ok = sshWithCert(infraSshd.port, vendor.unixName, userKey, vendorCert);
    expect(ok.stdout.trim()).toBe(vendor.unixName);
    expect(ok.status).toBe(0);
    // the vendor's certificate does not open the corporate admin's (sudo) account ...
    refused(sshWithCert(infraSshd.port, corp.unixName, userKey, vendorCert));
    // ... and a certificate for the shared local part opens neither.
    const localPart = signUserCert(ca, userKey, 'shared-local-part', [`admin-${tag}`]);
    refused(sshWithCert(infraSshd.port, corp.unixName, userKey, localPart));
    refused(sshWithCert(infraSshd.port, vendor.unixName, userKey, localPart));
    const log = infraSshd.newLog();
    expect(log.match(/Certificate does not contain an authorized principal/g)).toHaveLength(3);
    expect(log.match(/Accepted publickey/g)).toHaveLength(1);
    infra.ns.stop();
  });

  test('sshd -T: no forwarding of any kind, no ~/.ssh/rc', () => {
    const t = effectiveIn(ns, hostKey);
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
    // the opt-in's drop-in in place of ours, on the same host (CA key, accounts, principals).
    const fwdText = renderCloudInit(options(ca, fakeTunnelToken(), { allowPortForwarding: true }));
    const fwdRoot = makeTempDir('sshd-fwd', { sshdSafe: true });
    const fwdConfig = writeSshdConfig(fwdRoot, {
      [SSHD_DROP_IN_NAME]: writeFileEntry(parseCloudConfig(fwdText), DROP_IN_PATH).content!, '50-cloud-init.conf': DO_CLOUD_INIT_CONF,
    });
    const t = effectiveIn(ns, hostKey, fwdConfig);
    expect(t.get('allowtcpforwarding')).toEqual(['local']);
    expect(t.get('disableforwarding')).toEqual(['no']);
    expect([t.get('allowagentforwarding'), t.get('allowstreamlocalforwarding'), t.get('x11forwarding'), t.get('permittunnel'), t.get('permituserrc')])
      .toEqual([['no'], ['no'], ['no'], ['no'], ['no']]);
    expect(t.get('trustedusercakeys')).toEqual(['/etc/ssh/ca.pub']);
    const fwd = await startSshdIn(ns, dir, hostKey, fwdConfig);
    const service = await loopbackService(`loopback-only-${tag}`);
    try {
      const r = await sshForward(fwd.port, srhea, userKey, signUserCert(ca, userKey, 'srhea-fwd', [srhea]), service.port);
      expect(r.stdout).toBe(`loopback-only-${tag}\n`);
    } finally {
      service.server.close();
      fwd.stop();
    }
  });
});

