#!/bin/sh
# Written by cdktf-access-droplet; cloud-init runs it once, at first boot, from runcmd.
# Usage: setup KEY_URL REPOSITORY_URL SUITE COMPONENT
# It stops at the first failing step, so `cloud-init status` reports error instead of done.
set -eu
key_url=$1
repository_url=$2
suite=$3
component=$4
export DEBIAN_FRONTEND=noninteractive
log() { echo "cdktf-access-droplet: $*"; }

# the metadata guard first, when the cloud-config includes it: it must hold before anyone logs in.
if [ -f /etc/systemd/system/cdktf-metadata-guard.service ]; then
  log "keeping the metadata service from login users"
  systemctl daemon-reload
  systemctl enable --now cdktf-metadata-guard.service
fi

# OpenSSH 9.8 and later shut a source address out for a while after failed logins
# (PerSourcePenalties). With no inbound port, every connection comes from this host's own
# cloudflared, so one person's failed attempts would shut everyone out: turn the penalties off
# where sshd knows them (older sshd refuses the keyword, so it cannot go in the static drop-in).
[ -d /run/sshd ] || install -d -m 0755 /run/sshd
if /usr/sbin/sshd -T -o PerSourcePenalties=no >/dev/null 2>&1; then
  log "turning off sshd's per-source penalties (every login comes through cloudflared)"
  printf '%s\n' '# Written by cdktf-access-droplet: every login comes through the local cloudflared.' \
    'PerSourcePenalties no' > /etc/ssh/sshd_config.d/11-cloudflare-access-penalties.conf
fi

# the accounts next, from the droplet's tags, before sshd and the tunnel bring anyone here. The
# metadata service may need a moment at first boot: try for about a minute, then go on either way
# (cdktf-access-accounts.timer keeps trying every 30 seconds). Exit 5: applied, with errors logged.
log "creating the accounts the droplet's tags list"
tries=0
until /usr/local/lib/cdktf-access-droplet/accounts --once; do
  status=$?
  [ "$status" -eq 5 ] && break
  tries=$((tries + 1))
  if [ "$tries" -ge 30 ]; then
    log "the accounts are not applied yet (exit $status); cdktf-access-accounts.timer keeps trying"
    break
  fi
  sleep 2
done
systemctl daemon-reload
systemctl enable --now cdktf-access-accounts.timer

# sshd next: the Access settings are live before the tunnel can bring anyone to port 22.
log "restarting ssh with the Access drop-in"
systemctl restart ssh

# cloudflared from its signed apt repository (Cloudflare's, or a mirror given in the props). The
# updater (cdktf-cloudflared-update) takes the same lock: it never runs while this installs.
install -d -m 0755 /run/cdktf-access-droplet
exec 9>/run/cdktf-access-droplet/cloudflared.lock
flock 9
log "adding the cloudflared apt repository $repository_url ($suite $component)"
tmp=$(mktemp)
curl --fail --silent --show-error --location --retry 10 --retry-delay 3 --retry-all-errors \
  --output "$tmp" "$key_url"
keyring=/usr/share/keyrings/cloudflared-archive-keyring
# apt reads an ASCII-armoured key only from a .asc file and a binary one only from .gpg.
if grep -q -e '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$tmp"; then keyring=$keyring.asc; else keyring=$keyring.gpg; fi
install -m 0644 -o root -g root "$tmp" "$keyring"
rm -f "$tmp"
echo "deb [signed-by=$keyring] $repository_url $suite $component" > /etc/apt/sources.list.d/cloudflared.list
log "installing cloudflared"
# refresh only this source: an unreachable unrelated source must not stop the install.
apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=5 \
  -o Dir::Etc::sourcelist=sources.list.d/cloudflared.list -o Dir::Etc::sourceparts=- \
  -o APT::Get::List-Cleanup=0 update
apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends cloudflared

chmod 0700 /etc/cloudflared-access
log "starting cloudflared-access.service"
systemctl daemon-reload
# --no-block: the unit is ready only once the tunnel connects, which must not hold up first boot.
systemctl enable --now --no-block cloudflared-access.service
# keep cloudflared current from its repository (cloudflaredAutoUpdate, on unless turned off).
if [ -f /etc/systemd/system/cdktf-cloudflared-update.timer ]; then
  log "keeping cloudflared current: cdktf-cloudflared-update.timer"
  systemctl enable --now cdktf-cloudflared-update.timer
fi
log "done"
