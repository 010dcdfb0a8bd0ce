/**
 * The checks run against a booted VM, from the host: Access-style certificates log in and
 * everything else is refused, the cloud-config's files and services are in place, the
 * DigitalOcean datasource did the boot, and a login is no way to the metadata service or a pivot.
 */
import { randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { AccessUserInput } from '../lib/users';
import { assert, Checks, ImageFacts, show } from './checks';
import { factsScript, imageFacts, sections } from './facts';
import { Droplet, MetadataService } from './metadata';
import { Credential, offeredMethods, SshClient, wasRefused } from './ssh';
import { log, RunResult } from './util';

export const SRHEA = { email: 'srhea@cloudflare.com', unix: 'srhea', principal: 'srhea' };
export const JDOE = { email: 'jane.doe@example.com', unix: 'jdoe', principal: 'jane.doe' };
export const USERS: AccessUserInput[] = [SRHEA.email, { email: JDOE.email, unixName: JDOE.unix, sudo: true }];

/**
 * A user's own first-boot configuration (extraCloudConfig), merged after ours: it must run, and
 * our settings must still hold (issue 11 item 6).
 */
export const EXTRA_CLOUD_CONFIG = {
  write_files: [{ path: '/etc/motd', content: 'extra cloud-config was here\n' }],
  runcmd: ['echo ran > /var/tmp/extra-cloud-config-ran'],
};

/** A loopback-only service in the VM that a port forward must not reach. */
const LOOPBACK_PORT = 18080;

/** Everything the checks look at. */
export interface Subject {
  readonly checks: Checks;
  readonly client: SshClient;
  readonly sshPort: number;
  /** `cloud-init status --wait --long` once it returned. */
  readonly status: RunResult;
  readonly certs: { readonly jdoe: Credential; readonly srhea: Credential };
  readonly metadata: MetadataService;
  readonly droplet: Droplet;
  readonly tunnelToken: string;
}

/** Runs every check; returns what the VM said about itself, for the summary line. */
export async function assertions(s: Subject): Promise<ImageFacts> {
  const { checks, client, certs } = s;
  const ssh = (user: string, cred: Credential, command: string, input?: string) =>
    client.ssh(s.sshPort, user, cred, command, { input });
  const asRoot = (script: string) => ssh(JDOE.unix, certs.jdoe, 'sudo -n sh -s', script);

  await checks.check('cloud-init finished with status done', () => {
    assert(/^status: done$/m.test(s.status.stdout), `cloud-init status --wait --long: ${show(s.status)}`);
  });

  // logins that must work, each landing in the right account.
  for (const [u, cert] of [[SRHEA, certs.srhea], [JDOE, certs.jdoe]] as const) {
    await checks.check(`certificate for principal ${u.principal} logs in as ${u.unix}`, async () => {
      const r = await ssh(u.unix, cert, 'id -un');
      assert(r.code === 0 && r.stdout.trim() === u.unix, show(r));
    });
  }

  // logins that must be refused, tried side by side to save time.
  const refusals: [string, string, () => Promise<Credential>][] = [
    ['wrong principal: srhea\'s certificate as jdoe', JDOE.unix, async () => certs.srhea],
    ['unmapped principal: a certificate for "jdoe" (the Unix name, not jane.doe)', JDOE.unix,
      () => client.cert('unmapped', { principal: JDOE.unix })],
    ['certificate from another CA', SRHEA.unix, () => client.cert('other-ca', { principal: SRHEA.principal, ca: client.otherCa })],
    ['expired certificate', SRHEA.unix, () => client.cert('expired', { principal: SRHEA.principal, validity: '20200101:20200102' })],
    ['root, with a CA-signed certificate for principal root', 'root', () => client.cert('root', { principal: 'root' })],
    // the droplet's SSH keys from the metadata (public_keys), which cloud-init writes to root's
    // authorized_keys: only certificates open accounts, so they open none.
    ['root, with the key from the metadata\'s public_keys', 'root', async () => ({ kind: 'key' })],
  ];
  const results = await Promise.all(refusals.map(async ([, user, cred]) => ssh(user, await cred(), 'id -un')));
  for (const [i, [name]] of refusals.entries()) {
    await checks.check(`refused: ${name}`, () => {
      assert(wasRefused(results[i]), `expected "Permission denied", got ${show(results[i])}`);
    });
  }

  await checks.check('sudo -n true works for jdoe (sudo: true) and not for srhea', async () => {
    const [j, r] = await Promise.all([
      ssh(JDOE.unix, certs.jdoe, 'sudo -n true'),
      ssh(SRHEA.unix, certs.srhea, 'sudo -n true'),
    ]);
    assert(j.code === 0, `jdoe: ${show(j)}`);
    assert(r.code !== 0 && /password is required|not allowed|may not run sudo/.test(r.stderr), `srhea: ${show(r)}`);
  });

  // the key alone, even listed in the user's own authorized_keys: only certificates open accounts.
  await checks.check('refused: plain key, even listed in ~/.ssh/authorized_keys', async () => {
    const pub = readFileSync(`${client.key}.pub`, 'utf8').trim();
    const home = `/home/${SRHEA.unix}/.ssh`;
    const put = await asRoot([
      'set -e', `install -d -m 0700 -o ${SRHEA.unix} -g ${SRHEA.unix} ${home}`,
      `echo '${pub}' > ${home}/authorized_keys`,
      `chown ${SRHEA.unix}:${SRHEA.unix} ${home}/authorized_keys`, `chmod 0600 ${home}/authorized_keys`,
    ].join('\n'));
    assert(put.code === 0, `writing authorized_keys: ${show(put)}`);
    const r = await ssh(SRHEA.unix, { kind: 'key' }, 'id -un');
    assert(wasRefused(r), `expected "Permission denied", got ${show(r)}`);
  });

  const factsRun = await asRoot(factsScript([SRHEA.unix, JDOE.unix]));
  const facts = sections(factsRun.stdout);
  const fact = (name: string) => {
    const v = facts.get(name);
    if (v === undefined) throw new Error(`no "${name}" in the VM's facts: ${show(factsRun)}`);
    return v;
  };

  await checks.check('cloud-init used the DigitalOcean datasource: droplet id as instance id, metadata hostname, vendor_data applied', () => {
    assert(/DataSourceDigitalOcean/.test(fact('result-json')), `result.json: ${fact('result-json')}`);
    assert(fact('cloud-id').trim() === 'digitalocean', `cloud-id: ${fact('cloud-id')}`);
    assert(fact('instance-id').trim() === String(s.droplet.id), `instance-id ${fact('instance-id')}, droplet id ${s.droplet.id}`);
    assert(fact('hostname').trim() === s.droplet.hostname, `hostname: ${fact('hostname')}`);
    // manage_etc_hosts comes only from the vendor_data in the metadata.
    assert(new RegExp(`\\s${s.droplet.hostname}(\\s|$)`, 'm').test(fact('etc-hosts')), `/etc/hosts (vendor_data's manage_etc_hosts):\n${fact('etc-hosts')}`);
    // the address is the metadata's static one; a DHCP lease would look the same but say "dynamic".
    assert(/inet 169\.254\.2\.15\/16 /.test(fact('ipv4')) && !/dynamic/.test(fact('ipv4')), `eth0: ${fact('ipv4')}`);
    const requests = s.metadata.requests();
    assert(requests.includes('GET /metadata/v1.json 200'), `the metadata service saw: ${requests.join('; ') || 'no request'}`);
    // what cloud-init did with public_keys: root has them, which makes the refusal above count.
    const pub = readFileSync(`${client.key}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    assert(fact('root-keys').includes(pub), `public_keys are not in root's authorized_keys:\n${fact('root-keys')}`);
  });

  await checks.check('extraCloudConfig (a second MIME part) ran after ours, and our sshd settings still win', () => {
    assert(fact('extra-motd').trim() === 'extra cloud-config was here', `/etc/motd: ${fact('extra-motd')}`);
    assert(fact('extra-runcmd').trim() === 'ran', `the extra runcmd marker: ${fact('extra-runcmd')}`);
    assert(/^passwordauthentication no$/m.test(fact('sshd-effective')) && /^pubkeyauthentication yes$/m.test(fact('sshd-effective')),
      `sshd -T: ${fact('sshd-effective')}`);
  });

  await checks.check('users exist with bash, their email as gecos, locked passwords and principals files', () => {
    const passwd = fact('passwd');
    for (const u of [SRHEA, JDOE]) {
      const line = passwd.split('\n').find((l) => l.startsWith(`${u.unix}:`));
      assert(line, `no passwd entry for ${u.unix}:\n${passwd}`);
      const f = line.split(':');
      assert(f[4] === u.email && f[6] === '/bin/bash', `passwd entry for ${u.unix}: ${line}`);
    }
    assert(/^srhea !$/m.test(fact('shadow')) && /^jdoe !$/m.test(fact('shadow')), `passwords not locked:\n${fact('shadow')}`);
    const principals = fact('principals');
    assert(/^srhea: srhea$/m.test(principals) && /^jdoe: jane\.doe$/m.test(principals), `principals files:\n${principals}`);
    assert(fact('ca').trim() === readFileSync(`${client.ca}.pub`, 'utf8').trim(), `ca.pub: ${fact('ca')}`);
  });

  // cloud-init applies `ssh_pwauth: false` by rewriting 50-cloud-init.conf itself, so put
  // back what DigitalOcean's image says (and what cloud-init writes for `ssh_pwauth: true` in
  // vendor data), restart sshd, and check that the drop-in still decides.
  log(`note: cloud-init left 50-cloud-init.conf as: ${JSON.stringify(fact('cloud-init-conf'))}`);
  let sshdT: string[] = [];
  await checks.check('sshd -T: our drop-in wins over 50-cloud-init.conf saying PasswordAuthentication yes', async () => {
    const dropins = fact('dropins').split('\n');
    assert(dropins.includes('10-cloudflare-access.conf'), `drop-ins: ${dropins.join(' ')}`);
    const r = await asRoot([
      'set -e',
      'echo "PasswordAuthentication yes" > /etc/ssh/sshd_config.d/50-cloud-init.conf',
      'systemctl restart ssh.service',
      'sshd -T',
    ].join('\n'));
    assert(r.code === 0, `rewriting 50-cloud-init.conf and restarting ssh: ${show(r)}`);
    sshdT = r.stdout.split('\n');
    const want = [
      'passwordauthentication no', 'kbdinteractiveauthentication no', 'permitrootlogin no',
      'pubkeyauthentication yes', 'trustedusercakeys /etc/ssh/ca.pub',
      'authorizedprincipalsfile /etc/ssh/auth_principals/%u', 'authorizedkeysfile none',
    ];
    const missing = want.filter((w) => !sshdT.includes(w));
    assert(missing.length === 0, `sshd -T lacks: ${missing.join('; ')}\n${sshdT.filter((l) => /auth|root|trusted/i.test(l)).join('\n')}`);
  });

  // issue 10 item 5: a login is no pivot.
  await checks.check('sshd -T: no forwarding of any kind (disableforwarding yes, or each kind off) and permituserrc no', () => {
    assert(sshdT.length > 0, 'no sshd -T output (the check above failed)');
    const individually = ['allowtcpforwarding no', 'allowagentforwarding no', 'allowstreamlocalforwarding no', 'x11forwarding no'];
    const off = sshdT.includes('disableforwarding yes') || individually.every((w) => sshdT.includes(w));
    const shown = sshdT.filter((l) => /forwarding|userrc|permitopen|permittunnel/.test(l)).join('\n');
    assert(off, `forwarding is not off:\n${shown}`);
    assert(sshdT.includes('permituserrc no'), `PermitUserRC is not off:\n${shown}`);
  });

  await checks.check(`refused: ssh -W 127.0.0.1:${LOOPBACK_PORT} to a loopback-only service, with a valid certificate`, async () => {
    const serve = await asRoot([
      'set -e',
      'mkdir -p /run/loopback-only && echo loopback-only-secret > /run/loopback-only/index.html',
      `(setsid python3 -m http.server ${LOOPBACK_PORT} --bind 127.0.0.1 --directory /run/loopback-only >/dev/null 2>&1 &)`,
      `for i in $(seq 50); do curl -s -o /dev/null --max-time 1 http://127.0.0.1:${LOOPBACK_PORT}/ && break; sleep 0.2; done`,
      `curl -sS --max-time 5 http://127.0.0.1:${LOOPBACK_PORT}/`,
    ].join('\n'));
    assert(serve.code === 0 && serve.stdout.includes('loopback-only-secret'), `the loopback-only service did not start: ${show(serve)}`);
    const r = await client.ssh(s.sshPort, SRHEA.unix, certs.srhea, '', {
      stdioForward: `127.0.0.1:${LOOPBACK_PORT}`, input: 'GET / HTTP/1.0\r\n\r\n', timeoutMs: 60_000,
    });
    assert(!r.stdout.includes('loopback-only-secret') && r.code !== 0,
      `srhea reached the loopback-only service through ssh -W: ${show(r)}`);
    assert(/administratively prohibited|open failed|forwarding/i.test(r.stderr), `ssh -W failed, but not as a refused forward: ${show(r)}`);
  });

  await checks.check('cloudflared came from the signed local repository through signed-by', () => {
    const source = fact('apt-source');
    assert(/^deb \[signed-by=\/usr\/share\/keyrings\/cloudflared-archive-keyring\.(gpg|asc)\] file:\/\/\/srv\/apt e2e main$/m.test(source),
      `sources.list.d/cloudflared.list: ${source}`);
    assert(/^cloudflared-archive-keyring\.(gpg|asc)$/m.test(fact('keyring')), `keyrings: ${fact('keyring')}`);
    assert(/^cloudflared 0\.0\.0-e2e1 install ok installed$/m.test(fact('dpkg')), `dpkg: ${fact('dpkg')}`);
    assert(/file:\/srv\/apt e2e\/main/.test(fact('policy')), `apt-cache policy: ${fact('policy')}`);
    assert(/cdktf-access-droplet: done/.test(fact('setup-log')), `setup log:\n${fact('setup-log')}`);
  });

  await checks.check('cloudflared-access.service is active and enabled, ready by sd_notify, as a dynamic user', () => {
    assert(fact('active') === 'active', `is-active: ${fact('active')}\njournal:\n${fact('journal')}`);
    assert(fact('enabled') === 'enabled', `is-enabled: ${fact('enabled')}`);
    const unit = fact('show');
    assert(/^Type=notify$/m.test(unit) && /^DynamicUser=yes$/m.test(unit), unit);
    assert(/^StatusText=stand-in tunnel up$/m.test(unit), `no READY/STATUS from the stand-in: ${unit}`);
    const uid = Number(fact('proc-uid'));
    assert(uid > 0, `cloudflared runs as uid ${fact('proc-uid')}`);
  });

  await checks.check('cloudflared got the token from its environment file, not its command line', () => {
    const journal = fact('journal');
    assert(journal.includes(`TUNNEL_TOKEN set=yes value=${s.tunnelToken}`), `journal of cloudflared-access:\n${journal}`);
    assert(journal.includes('argv=["--no-autoupdate", "tunnel", "run"]'), `journal of cloudflared-access:\n${journal}`);
    assert(/tunnel\.env readable=no/.test(journal), `the service itself could read tunnel.env:\n${journal}`);
    assert(!fact('cmdline').includes(s.tunnelToken), `token on the command line: ${fact('cmdline')}`);
  });

  await checks.check('/etc/cloudflared-access/tunnel.env is 0600 root:root in a 0700 directory', () => {
    assert(fact('tunnel-env') === '600 root root', `tunnel.env: ${fact('tunnel-env')}`);
    assert(fact('tunnel-dir') === '700 root root', `/etc/cloudflared-access: ${fact('tunnel-dir')}`);
  });

  // a real password on the account, so a refusal shows sshd offers no password method at all,
  // while 50-cloud-init.conf says PasswordAuthentication yes.
  await checks.check('refused: password login, even with the right password', async () => {
    const password = `e2e-${randomUUID()}`;
    const set = await ssh(JDOE.unix, certs.jdoe, 'sudo -n chpasswd', `${SRHEA.unix}:${password}\n`);
    assert(set.code === 0, `chpasswd: ${show(set)}`);
    const r = await client.ssh(s.sshPort, SRHEA.unix, { kind: 'password', password }, 'id -un');
    assert(wasRefused(r), `expected "Permission denied", got ${show(r)}`);
    assert(offeredMethods(r) === 'publickey', `server offered ${offeredMethods(r)}, want only publickey`);
    assert((await client.askpassCalls()) === 0, 'ssh was asked for a password: the server offered one');
  });

  // the metadata guard, against the stand-in DigitalOcean metadata service: the user_data there
  // is the cloud-config under test, tunnel token included. Last, because it flushes the firewall.
  const USER_DATA = 'http://169.254.169.254/metadata/v1/user-data';
  const fetchAs = (user: string, cred: Credential) =>
    ssh(user, cred, `curl -sS --max-time 5 ${USER_DATA}; echo "rc=$?"`);
  // root as DigitalOcean's agents are: a system service, outside the login users' user.slice
  // (which a cgroup-level guard may close to root's sudo sessions too).
  const rootFetch = () => asRoot(`systemd-run --quiet --wait --pipe --collect curl -sS --max-time 5 ${USER_DATA} </dev/null`);
  const refusedFetch = (r: RunResult) => /^rc=[1-9]\d*$/m.test(r.stdout) && !r.stdout.includes(s.tunnelToken);

  await checks.check('metadata guard: root (a system service) reads /metadata/v1/user-data, a login user is refused', async () => {
    const guard = await asRoot('systemctl is-active cdktf-metadata-guard.service');
    assert(guard.stdout.trim() === 'active', `cdktf-metadata-guard.service: ${show(guard)}`);
    const root = await rootFetch();
    assert(root.code === 0 && root.stdout.includes(s.tunnelToken), `root could not read the metadata service's user_data: ${show(root)}`);
    const user = await fetchAs(SRHEA.unix, certs.srhea);
    assert(refusedFetch(user), `srhea (uid >= 1000) was not refused: ${show(user)}`);
  });

  // issue 10 item 6: what Debian's nftables.service does on start or reload.
  await checks.check('metadata guard survives `nft flush ruleset`: a login user is still refused, root (a system service) still reads', async () => {
    const flush = await asRoot('nft flush ruleset && nft list ruleset | wc -l');
    assert(flush.code === 0 && flush.stdout.trim() === '0', `nft flush ruleset: ${show(flush)}`);
    const user = await fetchAs(SRHEA.unix, certs.srhea);
    assert(refusedFetch(user), `after nft flush ruleset, srhea (uid >= 1000) read the user_data: ${show(user)}`);
    const root = await rootFetch();
    assert(root.code === 0 && root.stdout.includes(s.tunnelToken), `after nft flush ruleset, root could not read: ${show(root)}`);
  });

  // OpenSSH >= 9.8: every login comes through cloudflared (one source address), so penalties
  // after the refused logins above would shut everyone out; the setup script turns them off.
  await checks.check('sshd per-source penalties are off where sshd has them, and the refused logins above caused none', () => {
    const config = fact('sshd-penalty-config');
    if (config.trim() !== '') assert(/^persourcepenalties no$/m.test(config), `sshd -T:\n${config}`);
    assert(fact('sshd-penalties').trim() === '', `sshd penalised a source:\n${fact('sshd-penalties')}`);
  });
  const failed = fact('failed-units');
  if (failed) log(`note: failed units in the VM:\n${failed}`);
  if (checks.failed > 0) {
    const indented = (name: string) => fact(name).split('\n').map((l) => `  ${l}`).join('\n');
    log(`sshd log lines:\n${indented('sshd-journal')}`);
    log(`cloud-init warnings:\n${indented('cloud-init-warnings')}`);
    log(`/var/log/cloud-init-output.log, last 40 lines:\n${indented('cloud-init-output')}`);
    log(`metadata requests: ${s.metadata.requests().join('; ')}`);
  }
  return imageFacts(facts);
}
