#!/bin/sh
# Written by cdktf-access-droplet; cdktf-metadata-guard.service runs it at every boot, and the
# nftables.service drop-in after each start, reload and stop of that service.
# DigitalOcean's metadata service (169.254.169.254) serves this droplet's user_data, tunnel token
# included, to any local process. Invariant: no process with UID 1000 or more reaches it. This
# is the layer that goes by UID: reject every connection to it from UID 1000 and up (every
# Access user, and cloudflared's dynamic user), wherever the process runs, including in the root
# services the cgroup layer lets through (/etc/systemd/system/-.slice.d/cdktf-metadata-guard.conf);
# root and system users such as DigitalOcean's agents keep it.
set -eu
if command -v nft >/dev/null 2>&1; then
  nft -f - <<'RULES'
table inet cdktf_metadata_guard
delete table inet cdktf_metadata_guard
table inet cdktf_metadata_guard {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 169.254.169.254 meta skuid >= 1000 reject
  }
}
RULES
elif command -v iptables >/dev/null 2>&1; then
  rule="OUTPUT -d 169.254.169.254/32 -m owner --uid-owner 1000-4294967294 -j REJECT"
  # shellcheck disable=SC2086 # the rule is split into arguments on purpose.
  iptables -w -C $rule 2>/dev/null || iptables -w -I $rule
else
  echo "cdktf-access-droplet: neither nft nor iptables is installed; cannot keep the metadata service from login users" >&2
  exit 1
fi
