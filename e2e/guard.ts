/**
 * The metadata guard in the VM, against its invariant: no process with UID 1000 or more reaches
 * 169.254.169.254 (whose user_data holds the tunnel token), however it was started, whatever
 * happens to the nftables ruleset. An unprivileged user (srhea) fetches the user_data every way
 * a process of hers can be started (her login session, `systemd-run --user`, her crontab, an `at`
 * job, a service running as her in a slice nobody listed), after each thing that can happen to
 * the ruleset (`nft flush ruleset`; `systemctl start`, `reload`, `restart`, `stop nftables`),
 * each process writing what it got into her home; root, through the allow the guard documents,
 * still reads it. Controls show the fetches would see a leak.
 */
import { assert, show } from './checks';
import { sections } from './facts';
import { RunResult } from './util';

export const USER_DATA_URL = 'http://169.254.169.254/metadata/v1/user-data';
/** What an administrator runs to reach the metadata service (README, Notes). */
export const ROOT_FETCH = 'systemd-run -p IPAddressAllow=169.254.169.254 --wait --pipe --quiet --collect';

/**
 * `~/fetch NAME [URL]`, run as the user by each path: fetches the user_data and keeps, in
 * `~/e2e-out/NAME.*`, the body, and when it started, curl's exit code, its UID and its cgroup.
 */
export const FETCH_SCRIPT = `#!/bin/sh
out=$HOME/e2e-out
mkdir -p "$out"
start=$(date +%s.%N)
curl -sS --max-time 5 "\${2:-${USER_DATA_URL}}" >"$out/$1.body" 2>"$out/$1.err"
rc=$?
printf 'start=%s\\nrc=%s\\nuid=%s\\ncgroup=%s\\n' "$start" "$rc" "$(id -u)" "$(sed -n 's/^0:://p' /proc/self/cgroup)" >"$out/$1.tmp"
mv "$out/$1.tmp" "$out/$1.result"
`;

/**
 * Run as the user at the start: installs `~/fetch` and a crontab that fetches every minute
 * (each run under its own name) and at cron's start (`@reboot`); prints the login's cgroup.
 */
export function userSetupScript(): string {
  return `set -e
cat > "$HOME/fetch" <<'FETCH'
${FETCH_SCRIPT}FETCH
chmod 0755 "$HOME/fetch"
mkdir -p "$HOME/e2e-out"
crontab - <<'CRON'
* * * * * $HOME/fetch minutely-$(date +\\%s)
@reboot $HOME/fetch cron-reboot
CRON
echo "=== cgroup"; cat /proc/self/cgroup
echo "=== groups"; id -nG
`;
}

/**
 * Run as root at the start, before most checks, so that cron's next minute falls while they run:
 * notes whether the nftables layer is there, when cron, atd and the guard started, then flushes
 * the ruleset.
 */
export const EARLY_ROOT_SCRIPT = `set -e
echo "=== nft-before"; nft list table inet cdktf_metadata_guard >/dev/null 2>&1 && echo present || echo absent
echo "=== started"
for u in cron.service atd.service cdktf-metadata-guard.service; do
  echo "$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u) $(systemctl show -p MainPID --value $u)"
done
nft flush ruleset
echo "=== flushed-at"; date +%s
echo "=== ruleset-lines"; nft list ruleset | wc -l
`;

/** One thing that happens to the nftables ruleset, and whether the nftables layer is back after it. */
export interface RulesetEvent {
  readonly id: string;
  /** as the check names it. */
  readonly name: string;
  /** the command, run as root; undefined for the flush done by {@link EARLY_ROOT_SCRIPT}. */
  readonly command?: string;
  readonly nftLayer: boolean;
}

export const RULESET_EVENTS: readonly RulesetEvent[] = [
  { id: 'flush', name: '`nft flush ruleset`', nftLayer: false },
  { id: 'start', name: '`systemctl start nftables`', command: 'systemctl start nftables.service', nftLayer: true },
  { id: 'reload', name: '`systemctl reload nftables`', command: 'systemctl reload nftables.service', nftLayer: true },
  // a restart of a running nftables.service: its stop (ExecStop flushes), then its start.
  { id: 'restart', name: '`systemctl restart nftables`', command: 'systemctl start nftables.service && systemctl restart nftables.service', nftLayer: true },
  { id: 'stop', name: '`systemctl stop nftables`', command: 'systemctl stop nftables.service', nftLayer: true },
];

// a top-level slice (no dash: a dash would nest it under e2e.slice) that no file names.
const NOBODY_LISTED_SLICE = 'nobodylisted.slice';
const STANDIN_AGENT = 'droplet-agent.service';

/** Prints `=== NAME` then the result and body size of each fetch named, from `$out`. */
const DUMP = `dump() {
  for n in "$@"; do
    echo "=== $n"
    if [ -e "$out/$n.result" ]; then
      cat "$out/$n.result"
      echo "bytes=$(wc -c < "$out/$n.body")"
      echo "err=$(head -c 200 "$out/$n.err" | tr '\\n' ' ')"
    else
      echo "missing"
    fi
  done
}
waitfor() {
  deadline=$(( $(date +%s) + 90 ))
  for n in "$@"; do
    while [ ! -e "$out/$n.result" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.3; done
  done
}`;

/** Step 1 of an event, as root: the event itself and the state of the nftables layer after it. */
export function rootEventScript(event: RulesetEvent, user: string): string {
  return [
    'set -u',
    // the control's copy of the user_data (see rootFetchesScript) does not outlive its check.
    `rm -f /home/${user}/e2e-out/control-*.body`,
    'echo "=== cron-pid"; systemctl show -p MainPID --value cron.service',
    ...(event.command ? [`echo "=== event"; ${event.command} 2>&1; echo "rc=$?"`] : []),
    'echo "=== nft"; nft list table inet cdktf_metadata_guard >/dev/null 2>&1 && echo present || echo absent',
    'echo "=== nftables"; systemctl is-active nftables.service || true',
    '',
  ].join('\n');
}

/** Restarts cron, which runs the user's `@reboot` crontab job now (Debian's cron runs them once per boot, remembered in /run/crond.reboot). */
const CRON_REBOOT = (user: string) => `rm -f /home/${user}/e2e-out/cron-reboot.* /run/crond.reboot; systemctl restart cron.service`;

/**
 * Step 2, as root, beside {@link userEventScript}: root's documented way in, and fetches by
 * services that run as the user: in a slice nobody listed, and in a unit the cgroup layer lets
 * through (the nftables layer alone stops it; with the ruleset flushed, it is the control).
 * With the nftables layer back, cron restarts here too, for the user's `@reboot` job; with the
 * ruleset flushed that waits for {@link cronRebootScript}, after cron's every-minute job.
 */
export function rootFetchesScript(event: RulesetEvent, user: string): string {
  const home = `/home/${user}`;
  const asUser = (props: string, name: string) =>
    `systemd-run --uid=${user} ${props} --wait --quiet --collect ${home}/fetch ${name} </dev/null >/dev/null 2>&1 &`;
  const lines = [
    'set -u',
    ...(event.nftLayer ? [CRON_REBOOT(user)] : []),
    `{ ${ROOT_FETCH} curl -sS --max-time 5 ${USER_DATA_URL} </dev/null >/run/e2e-root-allowed 2>&1; rc=$?; printf '\\nrc=%s\\n' $rc >>/run/e2e-root-allowed; } &`,
  ];
  if (event.nftLayer) {
    lines.push(asUser('-p IPAddressAllow=169.254.169.254', `allowed-unit-${event.id}`));
  } else {
    lines.push(
      `{ systemd-run --wait --pipe --quiet --collect curl -sS --max-time 5 ${USER_DATA_URL} </dev/null >/run/e2e-root-plain 2>&1; rc=$?; printf '\\nrc=%s\\n' $rc >>/run/e2e-root-plain; } &`,
      // the control for the IPv4-mapped address srhea tries: it does lead to the metadata service.
      `{ ${ROOT_FETCH} curl -sS --max-time 5 'http://[::ffff:169.254.169.254]/metadata/v1/user-data' </dev/null >/run/e2e-root-mapped 2>&1; rc=$?; printf '\\nrc=%s\\n' $rc >>/run/e2e-root-mapped; } &`,
      asUser(`-p Slice=${NOBODY_LISTED_SLICE}`, `slice-${event.id}`),
      asUser('-p IPAddressAllow=169.254.169.254', `control-${event.id}`),
      // a stand-in for DigitalOcean's droplet-agent: a transient unit of that name, which gets the
      // guard's allow drop-in for it and nothing else (root's plain systemd-run above is refused).
      `{ systemd-run --unit=${STANDIN_AGENT} --wait --pipe --quiet --collect curl -sS --max-time 5 ${USER_DATA_URL} </dev/null >/run/e2e-agent 2>&1; rc=$?; printf '\\nrc=%s\\n' $rc >>/run/e2e-agent; } &`,
    );
  }
  lines.push('wait', 'echo "=== root-allowed"; cat /run/e2e-root-allowed');
  if (!event.nftLayer) {
    lines.push(
      'echo "=== root-plain"; cat /run/e2e-root-plain',
      'echo "=== root-mapped"; cat /run/e2e-root-mapped',
      'echo "=== agent"; cat /run/e2e-agent',
    );
  }
  lines.push('rm -f /run/e2e-root-allowed /run/e2e-root-plain /run/e2e-root-mapped /run/e2e-agent', '');
  return lines.join('\n');
}

/**
 * Step 2, as the user, beside {@link rootFetchesScript}: fetches from the login session, queues
 * an `at` job, waits for it and for the services root started as the user (and, with the
 * nftables layer back, for the `@reboot` crontab job), and prints every fetch. With the ruleset
 * flushed (the cgroup layer alone), also through `systemd-run --user`, with and without an
 * IPAddressAllow= of the user's own: with the nftables layer back it would be refused twice
 * over, and it costs seconds under TCG.
 */
export function userEventScript(event: RulesetEvent): string {
  const e = event.id;
  const names = [`session-${e}`, `at-${e}`];
  const lines = [
    'out=$HOME/e2e-out',
    DUMP,
    `echo '"$HOME/fetch" at-${e}' | at now 2>/dev/null`,
    `"$HOME/fetch" session-${e} &`,
  ];
  if (!event.nftLayer) {
    names.push(`user-run-${e}`, `slice-${e}`, `control-${e}`, `mapped-${e}`);
    lines.push(
      // the same address as an IPv4-mapped IPv6 one, through an AF_INET6 socket.
      `"$HOME/fetch" mapped-${e} 'http://[::ffff:169.254.169.254]/metadata/v1/user-data' &`,
      `systemd-run --user --wait --quiet --collect "$HOME/fetch" user-run-${e} </dev/null >/dev/null 2>"$out/user-run-${e}.launch" &`,
      `systemd-run --user -p IPAddressAllow=169.254.169.254 --wait --quiet --collect "$HOME/fetch" user-allow-${e} </dev/null >/dev/null 2>"$out/user-allow-${e}.launch" &`,
    );
  } else {
    names.push(`allowed-unit-${e}`, 'cron-reboot');
  }
  lines.push(
    'wait',
    `waitfor ${names.join(' ')}`,
    `dump ${names.join(' ')}${event.nftLayer ? '' : ` user-allow-${e}`}`,
    ...(event.nftLayer ? [] : [`echo "=== user-allow-launch"; cat "$out/user-allow-${e}.launch"`]),
    '',
  );
  return lines.join('\n');
}

/**
 * Step 3, with the ruleset flushed, as root, once cron's every-minute job from the daemon that
 * ran before the guard was seen: restarts cron for the user's `@reboot` job, waits for it and
 * prints it.
 */
export function cronRebootScript(user: string): string {
  return [
    `out=/home/${user}/e2e-out`,
    DUMP,
    CRON_REBOOT(user),
    'waitfor cron-reboot',
    'dump cron-reboot',
    '',
  ].join('\n');
}

/**
 * Run as the user: waits up to 90 s for the crontab's every-minute job to have started after
 * `after` (seconds since the epoch), then prints it.
 */
export function minutelyWaitScript(after: number): string {
  return `out=$HOME/e2e-out
${DUMP}
deadline=$(( $(date +%s) + 90 ))
while :; do
  found=$(for f in "$HOME"/e2e-out/minutely-*.result; do n=\${f##*/minutely-}; n=\${n%.result}; [ -e "$f" ] && [ "$n" -gt ${after} ] && echo "minutely-$n"; done | head -n 1)
  [ -n "$found" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || break; sleep 1
done
dump \${found:-minutely-none}
`;
}

/** Run as the user at the end: every minute's fetch so far. */
export const ALL_MINUTELY_SCRIPT = `out=$HOME/e2e-out
${DUMP}
dump $(cd "$HOME/e2e-out" && ls minutely-*.result 2>/dev/null | sed 's/\\.result$//')
`;

/** One fetch as the user reported it. */
export interface Fetch {
  readonly name: string;
  readonly missing: boolean;
  readonly rc?: number;
  readonly uid?: number;
  readonly cgroup?: string;
  readonly bytes?: number;
  readonly err?: string;
  readonly start?: number;
}

/** Reads the fetches a user script printed. */
export function parseFetches(stdout: string): Map<string, Fetch> {
  const map = new Map<string, Fetch>();
  for (const [name, text] of sections(stdout)) {
    const field = (k: string) => new RegExp(`^${k}=(.*)$`, 'm').exec(text)?.[1];
    const num = (k: string) => (field(k) === undefined ? undefined : Number(field(k)));
    map.set(name, {
      name, missing: text.trim() === 'missing', rc: num('rc'), uid: num('uid'), cgroup: field('cgroup'),
      bytes: num('bytes'), err: field('err'), start: num('start'),
    });
  }
  return map;
}

/** A fetch that ran as a process of UID 1000 or more and got nothing from the metadata service. */
export function refused(f: Fetch | undefined): boolean {
  return f !== undefined && !f.missing && f.rc !== 0 && f.rc !== undefined && f.bytes === 0 && (f.uid ?? 0) >= 1000;
}

export function describeFetch(f: Fetch | undefined): string {
  if (!f) return 'no report';
  if (f.missing) return `${f.name}: never ran`;
  return `${f.name}: rc=${f.rc} uid=${f.uid} bytes=${f.bytes} cgroup=${f.cgroup} err=${JSON.stringify(f.err)}`;
}

/** Asserts `f` ran as the user, in a cgroup matching `cgroup`, and was refused. */
export function assertRefused(f: Fetch | undefined, what: string, cgroup: RegExp): void {
  assert(f && !f.missing, `${what}: the fetch never ran (${describeFetch(f)})`);
  assert(cgroup.test(f.cgroup ?? ''), `${what}: ran in ${f.cgroup}, not where this path runs (${cgroup})`);
  assert(refused(f), `${what} reached the metadata service: ${describeFetch(f)}`);
}

/** Where each path's processes run, as /proc/self/cgroup says. */
export const CGROUPS = {
  session: /^\/user\.slice\/user-\d+\.slice\/session-[^/]+\.scope$/,
  userRun: /^\/user\.slice\/user-\d+\.slice\/user@\d+\.service\/.*\.service$/,
  cron: /^\/system\.slice\/cron\.service$/,
  at: /^\/system\.slice\/atd\.service$/,
  systemService: /^\/system\.slice\/run-[^/]+\.service$/,
  nobodyListed: /^\/nobodylisted\.slice\/run-[^/]+\.service$/,
};

/** Checks root's documented way in: the whole user_data, tunnel token included. */
export function assertRootReads(section: string | undefined, token: string, when: string): void {
  assert(section !== undefined && section.includes(token) && /^rc=0$/m.test(section),
    `${when}, root could not read the user_data through \`${ROOT_FETCH}\`: ${JSON.stringify((section ?? '').slice(-300))}`);
}

/** The root script's sections, or a failure naming the command. */
export function rootSections(r: RunResult, what: string): Map<string, string> {
  assert(r.code === 0, `${what}: ${show(r)}`);
  return sections(r.stdout);
}
