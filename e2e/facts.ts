/**
 * What is gathered inside the VM, in one root shell run (through a sudo user's certificate
 * login), and how it is read back: one `=== name` section per fact.
 */
import { ImageFacts } from './checks';

/**
 * The script run as root inside the VM that gathers what is asserted about `users`, and about
 * the metadata guard's units (`allowedUnits`: those let through its deny).
 */
export function factsScript(users: string[], allowedUnits: readonly string[] = []): string {
  const names = users.join(' ');
  return `
set +e
unit=cloudflared-access.service
# the setup script starts the unit with --no-block; give it a moment to report ready.
for i in $(seq 60); do systemctl is-active -q $unit && break; sleep 1; done
section() { echo "=== $1"; }
section dropins; ls -1 /etc/ssh/sshd_config.d
section cloud-init-conf; cat /etc/ssh/sshd_config.d/50-cloud-init.conf
section tunnel-env; stat -c '%a %U %G' /etc/cloudflared-access/tunnel.env
section tunnel-dir; stat -c '%a %U %G' /etc/cloudflared-access
section active; systemctl is-active $unit
section enabled; systemctl is-enabled $unit
section show; systemctl show -p Type,DynamicUser,MainPID,StatusText,NRestarts,ExecMainStartTimestamp $unit
section journal; journalctl -b -u $unit --no-pager -o cat
section cmdline; pid=$(systemctl show -p MainPID --value $unit); tr '\\0' ' ' < /proc/$pid/cmdline; echo
section proc-uid; awk '/^Uid:/ {print $2}' /proc/$pid/status
section apt-source; cat /etc/apt/sources.list.d/cloudflared.list
section keyring; ls -1 /usr/share/keyrings/ | grep cloudflared
section dpkg; dpkg-query -W -f '\${Package} \${Version} \${Status}\\n' cloudflared
section policy; apt-cache policy cloudflared
section passwd; getent passwd ${names}
section shadow; getent shadow ${names} | awk -F: '{print $1, substr($2, 1, 1)}'
section principals; for f in /etc/ssh/auth_principals/*; do echo "$(basename $f): $(cat $f)"; done
section sudoers; cat /etc/sudoers.d/90-cdktf-access
section accounts-log; grep -h 'cdktf-access-accounts:' /var/log/cloud-init-output.log; journalctl -b -u cdktf-access-accounts.service --no-pager -o cat | grep 'cdktf-access-accounts:'
section accounts-timer; systemctl is-active cdktf-access-accounts.timer; systemctl is-enabled cdktf-access-accounts.timer
section ca; cat /etc/ssh/ca.pub
section setup-log; grep 'cdktf-access-droplet:' /var/log/cloud-init-output.log
section result-json; cat /run/cloud-init/result.json
section cloud-id; cat /run/cloud-init/cloud-id 2>/dev/null || cloud-id
section instance-id; cat /var/lib/cloud/data/instance-id
section hostname; hostname
section etc-hosts; cat /etc/hosts
section ipv4; ip -4 -o addr show dev eth0
section cloud-init-version; cloud-init --version 2>&1
section openssh-version; ssh -V 2>&1
section root-keys; cat /root/.ssh/authorized_keys
section sshd-journal; journalctl -b -u ssh.service --no-pager -o cat | grep -E 'Accepted|REFUSED|principal|Certificate|CA|invalid' | tail -n 40
# since ssh.service last started: the setup script's restart turns the penalties off, and the
# logins before it (tried while the accounts agent had not yet made jdoe) are not the checks'.
section sshd-penalties; journalctl -b -u ssh.service --since "$(systemctl show --timestamp=unix -p ActiveEnterTimestamp --value ssh.service)" --no-pager -o cat | grep -i 'penalt' | tail -n 3
section sshd-penalty-config; sshd -T 2>/dev/null | grep -i '^persourcepenal'
section extra-file; cat /opt/extra-cloud-config/motd
section extra-deferred; cat /srv/extra-cloud-config/ran
section extra-timezone; cat /etc/timezone; cmp -s /etc/localtime /usr/share/zoneinfo/Europe/Berlin && echo 'localtime=Europe/Berlin' || echo "localtime=$(readlink -f /etc/localtime)"; date +%Z
section sshd-effective; sshd -T 2>/dev/null | grep -E '^(passwordauthentication|pubkeyauthentication|permitrootlogin|authorizedkeysfile) '
section guard-root-slice; systemctl show -p IPAddressDeny -- -.slice
section guard-allowed; for u in ${allowedUnits.join(' ')}; do echo "$u $(systemctl show -p LoadState --value $u) $(systemctl show -p IPAddressAllow --value $u)"; done
section sr0; stat -c '%a %U %G' /dev/sr0 2>&1; blkid -o value -s LABEL /dev/sr0 2>&1
section failed-units; systemctl --failed --no-legend --plain
section cloud-init-warnings; grep -E 'WARNING|ERROR|DEPRECAT' /var/log/cloud-init.log | tail -n 20
section cloud-init-schema; cloud-init schema --system 2>&1; echo "exit=$?"
section cloud-init-schema-log; grep -iE 'schema|invalid cloud-config' /var/log/cloud-init.log | grep -v 'DEBUG' | cut -c1-600
section cloud-init-output; tail -n 40 /var/log/cloud-init-output.log
`;
}

/** Splits the script's output into its sections. */
export function sections(text: string): Map<string, string> {
  const map = new Map<string, string>();
  const parts = text.split(/^=== (\S+)\n/m);
  for (let i = 1; i + 1 < parts.length; i += 2) map.set(parts[i], parts[i + 1].trimEnd());
  return map;
}

/**
 * The datasource, cloud-init and OpenSSH versions for the summary line, from
 * `/run/cloud-init/result.json` ("DataSourceDigitalOcean"), `cloud-init --version`
 * ("/usr/bin/cloud-init 22.4.2") and `ssh -V` ("OpenSSH_9.2p1 Debian-2+deb12u3, ...").
 */
export function imageFacts(facts: Map<string, string>): ImageFacts {
  return {
    datasource: /DataSource([A-Za-z0-9]+)/.exec(facts.get('result-json') ?? '')?.[1],
    cloudInit: /cloud-init (\d[\w.+~-]*)/.exec(facts.get('cloud-init-version') ?? '')?.[1],
    openssh: /OpenSSH_(\d[\w.]*)/.exec(facts.get('openssh-version') ?? '')?.[1],
  };
}
