// the droplet's user_data when the user adds cloud-config of their own: a MIME multipart whose
// first part is ours and second part theirs, merged by cloud-init so that theirs cannot replace
// any of our settings (see extraCloudConfig in DropletOptions).
import { Token } from 'cdktf';

/** DigitalOcean's user_data limit. */
export const USER_DATA_LIMIT_BYTES = 64 * 1024;

/** the MIME boundary; checked not to occur in either part. */
export const MIME_BOUNDARY = '==cdktf-access-droplet-6f1d2b==';

/**
 * how cloud-init merges the user's part into ours: lists are appended (their packages, files
 * and commands after ours), dictionaries recursed, and no key of ours is replaced.
 */
export const EXTRA_MERGE_HOW = [
  { name: 'list', settings: ['append'] },
  { name: 'dict', settings: ['no_replace', 'recurse_list'] },
];

/** the prop that lets extraCloudConfig do more than the inert set, named in every refusal. */
export const RUN_AS_ROOT_OPT_IN = 'dangerouslyRunExtraCloudConfigAsRoot';

/** where `write_files` may write without the opt-in: application directories nothing of the system reads. */
export const EXTRA_FILE_PREFIXES = ['/opt/', '/srv/'];

/** where a volume may be mounted without the opt-in. */
export const EXTRA_MOUNT_PREFIXES = ['/mnt/', '/srv/', '/opt/', '/data/'];

/** the keys accepted without the opt-in, as named in refusals and docs. */
export const INERT_KEYS_SUMMARY =
  `packages, package_update, package_upgrade, package_reboot_if_required, timezone, write_files below ${EXTRA_FILE_PREFIXES.join(' or ')}, ` +
  'fs_setup and mounts of DigitalOcean volumes';

/** one way `extra` leaves the inert set: where (`extraCloudConfig.write_files[0].path`) and why. */
interface Refusal {
  readonly at: string;
  readonly why: string;
}

type Refuse = (at: string, why: string) => void;

// a value as shown in a message: JSON, cut short.
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// a string the check can read: a token could resolve to anything.
function literal(at: string, v: unknown, refuse: Refuse): v is string {
  if (typeof v !== 'string') {
    refuse(at, `${show(v)} is not a string`);
    return false;
  }
  if (Token.isUnresolved(v)) {
    refuse(at, 'it is a token, and what a token resolves to cannot be checked: give a literal');
    return false;
  }
  return true;
}

function bool(at: string, v: unknown, refuse: Refuse): void {
  if (typeof v !== 'boolean') refuse(at, `${show(v)} is not true or false`);
}

/** a mapping whose keys are all in `allowed` (each checked by its function); `required` must be there. */
function entry(at: string, v: unknown, refuse: Refuse, allowed: { [key: string]: (at: string, v: unknown) => void }, required: string[]): void {
  if (!isObject(v)) {
    refuse(at, `${show(v)} is not a mapping of ${Object.keys(allowed).join(', ')}`);
    return;
  }
  for (const key of required) if (!Object.prototype.hasOwnProperty.call(v, key)) refuse(at, `it has no ${key}, which is required`);
  for (const [key, value] of Object.entries(v)) {
    const check = Object.prototype.hasOwnProperty.call(allowed, key) ? allowed[key] : undefined;
    if (check === undefined) {
      refuse(`${at}.${key}`, `the key is not one of those known to be inert here (${Object.keys(allowed).join(', ')})`);
    } else {
      check(`${at}.${key}`, value);
    }
  }
}

function list(at: string, v: unknown, refuse: Refuse, each: (at: string, item: unknown) => void): void {
  if (!Array.isArray(v) || v.length === 0) {
    refuse(at, `${show(v)} is not a non-empty list`);
    return;
  }
  v.forEach((item, i) => each(`${at}[${i}]`, item));
}

// a path component: letters, digits and a few punctuation marks; no ".", "..", empty component,
// space, wildcard, quote or control character, so the text is the path the kernel resolves.
const PATH_COMPONENT = /^[A-Za-z0-9_@+=,~.-]+$/;

/**
 * Why `path` is not a normalized absolute path strictly below one of `prefixes`, or undefined.
 * cloud-init passes write_files paths through os.path.abspath (cc_write_files.write_files) and
 * mount points to /etc/fstab as they are (cc_mounts.handle): either way "..", "//" or "." could
 * leave the prefix, so such paths are refused rather than normalized.
 */
function pathProblem(path: string, prefixes: string[]): string | undefined {
  if (prefixes.some((p) => path === p || path === p.slice(0, -1))) return 'is the prefix itself, not a path below it';
  if (!prefixes.some((p) => path.startsWith(p))) return `is not below ${prefixes.join(', ')}`;
  if (path.length > 1024) return 'is longer than 1024 characters';
  const parts = path.slice(1).split('/');
  if (parts.some((c) => c === '' || c === '.' || c === '..')) return 'is not a normalized path (an empty, "." or ".." component)';
  if (!parts.every((c) => PATH_COMPONENT.test(c))) return 'has a character other than letters, digits and _@+=,~.- (spaces, wildcards, quotes and control characters are refused)';
  return undefined;
}

// packages (cc_package_update_upgrade_install.handle -> Distro.install_packages ->
// debian.package_command): each name, or "name=version" (util.expand_package_list makes the pair
// [name, version] into "name=version"), becomes one argument of `apt-get ... install`. A word
// starting with "-" would be an apt option (-o APT::Update::Pre-Invoke::=... runs a command), and
// a name ending in "-" asks apt to REMOVE the package (apt-get(8)): both are refused. Debian
// package names: policy 5.6.1; versions: policy 5.6.12. apt-get 2.6 still reads a name with "."
// that matches no package as a regular expression (apt-get(8)): that can install more packages
// than named, from the same sources, never remove one.
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const PACKAGE_VERSION = /^[0-9][A-Za-z0-9.+~:-]*$/;

const NOT_A_PACKAGE = 'is not a Debian package name (lower-case letters, digits and +.-, not starting or ending with "-": apt reads a leading "-" as an option and a trailing one as "remove")';
const NOT_A_VERSION = 'is not a Debian version (a digit, then letters, digits and .+~:-)';

function packageName(name: string): boolean {
  return PACKAGE_NAME.test(name) && !name.endsWith('-');
}

function checkPackage(at: string, p: unknown, refuse: Refuse): void {
  if (Array.isArray(p)) {
    if (p.length !== 2) {
      refuse(at, `${show(p)} is neither a package name nor a [name, version] pair`);
      return;
    }
    if (literal(`${at}[0]`, p[0], refuse) && !packageName(p[0])) refuse(`${at}[0]`, `${show(p[0])} ${NOT_A_PACKAGE}`);
    if (literal(`${at}[1]`, p[1], refuse) && !PACKAGE_VERSION.test(p[1])) refuse(`${at}[1]`, `${show(p[1])} ${NOT_A_VERSION}`);
    return;
  }
  if (!literal(at, p, refuse)) return;
  const [name, ...version] = p.split('=');
  if (!packageName(name)) refuse(at, `${show(p)} ${NOT_A_PACKAGE}`);
  else if (version.length && !PACKAGE_VERSION.test(version.join('='))) refuse(at, `${show(p)}: "${version.join('=')}" ${NOT_A_VERSION}`);
}

// timezone (cc_timezone.handle -> debian.Distro.set_timezone): the zone's file is
// os.path.join("/usr/share/zoneinfo", tz), linked or copied to /etc/localtime, and tz is written
// to /etc/timezone (distros.set_etc_timezone). An absolute or ".." name would copy any file (the
// shadow file, say) to a world-readable /etc/localtime, so only zoneinfo-style names pass.
const TIMEZONE = /^[A-Za-z0-9_+-]{1,30}(\/[A-Za-z0-9_+-]{1,30}){0,2}$/;

// write_files entries (cc_write_files.write_files; the schema's item has exactly these keys):
// content is decoded by `encoding` (canonicalize_extraction), written at os.path.abspath(path)
// with mode int(permissions, 8) (decode_perms), then chowned by name (util.chownbyname).
const ENCODINGS = ['gz', 'gzip', 'gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64', 'b64', 'base64', 'text/plain'];
// three octal digits: no setuid, setgid or sticky bit can be expressed. (cloud-init chmods before
// it chowns, and the chown clears set-id bits, but an owner of "none" skips the chown:
// util.extract_usergroup. __tests__/real/extra-cloud-config.test.ts shows the bit surviving.)
const PERMISSIONS = /^(0|0o)?[0-7]{3}$/;
const UNIX_NAME = '[a-z_][a-z0-9_-]{0,31}';
const OWNER = new RegExp(`^${UNIX_NAME}(:${UNIX_NAME})?$`);

// DigitalOcean attaches a volume as /dev/disk/by-id/scsi-0DO_Volume_<name> (its name: lower-case
// letters, digits and "-"), partitions as <that>-part<n>. The droplet's own disk is /dev/vda and
// never matches, so fs_setup cannot format it and mounts cannot mount it a second time.
const DO_VOLUME_DEVICE = /^\/dev\/disk\/by-id\/scsi-0DO_Volume_[a-z0-9][a-z0-9-]{0,63}(-part[1-9][0-9]?)?$/;
const FILESYSTEMS = ['ext4', 'xfs', 'btrfs'];

function volumeDevice(at: string, v: unknown, refuse: Refuse): void {
  if (literal(at, v, refuse) && !DO_VOLUME_DEVICE.test(v)) {
    refuse(at, `${show(v)} is not a DigitalOcean volume device (/dev/disk/by-id/scsi-0DO_Volume_<name>, optionally -part<n>)`);
  }
}

function filesystem(at: string, v: unknown, refuse: Refuse): void {
  if (literal(at, v, refuse) && !FILESYSTEMS.includes(v)) refuse(at, `${show(v)} must be one of ${FILESYSTEMS.join(', ')}`);
}

// mount options allowed in fstab's fourth field: none of them lets a volume bring set-id
// programs or device nodes (nosuid and nodev are required), share or move another mount (bind,
// rbind, move), or let a user mount it (user, users, owner).
const MOUNT_OPTIONS = ['defaults', 'rw', 'ro', 'nofail', 'noatime', 'nodiratime', 'relatime', 'discard', 'noexec', 'nosuid', 'nodev', '_netdev', 'auto', 'noauto'];
const MOUNT_OPTION = new RegExp(`^(${MOUNT_OPTIONS.join('|')}|x-systemd\\.device-timeout=[0-9]{1,4}(s|min)?)$`);

function mountOptions(at: string, v: unknown, refuse: Refuse): void {
  if (!literal(at, v, refuse)) return;
  const options = v.split(',');
  const bad = options.filter((o) => !MOUNT_OPTION.test(o));
  if (bad.length) refuse(at, `${show(v)} has options outside ${MOUNT_OPTIONS.join(', ')}, x-systemd.device-timeout=: ${bad.map((b) => show(b)).join(', ')}`);
  const missing = ['nosuid', 'nodev'].filter((o) => !options.includes(o));
  if (missing.length) refuse(at, `${show(v)} must include nosuid and nodev (add ${missing.join(',')}): a volume's set-id programs or device nodes would be a way to root`);
}

/**
 * The inert keys and how each is checked; a key not listed here is refused. Each check was
 * read against cloud-init 22.4's module that acts on the key (cloudinit/config/cc_*.py, named at
 * each check above) and its schema (config/schemas/schema-cloud-config-v1.json).
 */
const INERT_KEYS: { [key: string]: (at: string, v: unknown, refuse: Refuse) => void } = {
  packages: (at, v, refuse) => list(at, v, refuse, (a, p) => checkPackage(a, p, refuse)),
  // package_update, package_upgrade: apt-get update / dist-upgrade from the image's own sources,
  // with --force-confold (debian.APT_GET_COMMAND), so no changed config file is replaced.
  package_update: bool,
  package_upgrade: bool,
  // reboots when /var/run/reboot-required exists after an upgrade or install.
  package_reboot_if_required: bool,
  timezone: (at, v, refuse) => {
    if (literal(at, v, refuse) && !TIMEZONE.test(v)) refuse(at, `${show(v)} is not a zoneinfo name such as "Europe/Berlin" (no "..", no leading "/")`);
  },
  write_files: (at, v, refuse) => list(at, v, refuse, (a, f) => entry(a, f, refuse, {
    path: (p, path) => {
      if (!literal(p, path, refuse)) return;
      const problem = pathProblem(path, EXTRA_FILE_PREFIXES);
      if (problem) refuse(p, `${show(path)} ${problem}: files are written only below ${EXTRA_FILE_PREFIXES.join(' or ')}, because anywhere else a file can change accounts, sudo, sshd, PAM, systemd, cron, apt or cloud-init`);
    },
    // the content may be a token (a secret from another resource): it is data, never a path.
    content: (p, c) => {
      if (typeof c !== 'string') refuse(p, `${show(c)} is not a string`);
    },
    encoding: (p, e) => {
      if (literal(p, e, refuse) && !ENCODINGS.includes(e)) refuse(p, `${show(e)} must be one of cloud-init's encodings ${ENCODINGS.join(', ')}`);
    },
    owner: (p, o) => {
      if (literal(p, o, refuse) && !OWNER.test(o)) refuse(p, `${show(o)} must be user or user:group (Unix names)`);
    },
    permissions: (p, m) => {
      if (literal(p, m, refuse) && !PERMISSIONS.test(m)) refuse(p, `${show(m)} must be three octal digits such as "0644": setuid, setgid and sticky bits are refused`);
    },
    append: (p, b) => bool(p, b, refuse),
    // defer: written in the final stage, after packages (cc_write_files_deferred).
    defer: (p, b) => bool(p, b, refuse),
  }, ['path'])),
  // fs_setup (cc_disk_setup.mkfs): mkfs.<filesystem> [-L label] [force] <device>, no shell. Not
  // accepted: cmd (runs through a shell), extra_opts (mkfs options: `mke2fs -d /etc` copies a
  // directory onto the volume), replace_fs; nor disk_setup or device_aliases (other keys).
  fs_setup: (at, v, refuse) => list(at, v, refuse, (a, f) => entry(a, f, refuse, {
    device: (p, d) => volumeDevice(p, d, refuse),
    filesystem: (p, fs) => filesystem(p, fs, refuse),
    label: (p, l) => {
      if (literal(p, l, refuse) && !/^[A-Za-z0-9_][A-Za-z0-9_-]{0,11}$/.test(l)) refuse(p, `${show(l)} must be 1 to 12 letters, digits, _ or -`);
    },
    partition: (p, n) => {
      if (!['auto', 'any', 'none'].includes(n as string) && !(Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 128)) {
        refuse(p, `${show(n)} must be "auto", "any", "none" or a partition number`);
      }
    },
    overwrite: (p, b) => bool(p, b, refuse),
  }, ['device', 'filesystem'])),
  // mounts (cc_mounts.handle): each entry's fields are joined with tabs into an /etc/fstab line
  // (so a field with whitespace would add lines: the character checks forbid it), its mount
  // point is created, then `mount -a` and `systemctl daemon-reload` run. A device other than a
  // volume (LABEL=, UUID=, /dev/vda1, a bind of /etc) could put the root filesystem below a
  // writable prefix; swap and mount_default_fields are other keys, refused.
  mounts: (at, v, refuse) => list(at, v, refuse, (a, m) => {
    if (!Array.isArray(m) || m.length < 4 || m.length > 6) {
      refuse(a, `${show(m)} must be [device, mount point, filesystem, options] with optional dump and pass fields`);
      return;
    }
    volumeDevice(`${a}[0]`, m[0], refuse);
    if (literal(`${a}[1]`, m[1], refuse)) {
      const problem = pathProblem(m[1], EXTRA_MOUNT_PREFIXES);
      if (problem) refuse(`${a}[1]`, `${show(m[1])} ${problem}: volumes are mounted only below ${EXTRA_MOUNT_PREFIXES.join(', ')}`);
    }
    filesystem(`${a}[2]`, m[2], refuse);
    mountOptions(`${a}[3]`, m[3], refuse);
    if (m.length > 4 && literal(`${a}[4]`, m[4], refuse) && !/^[01]$/.test(m[4])) refuse(`${a}[4]`, `${show(m[4])} (dump) must be "0" or "1"`);
    if (m.length > 5 && literal(`${a}[5]`, m[5], refuse) && !/^[0-2]$/.test(m[5])) refuse(`${a}[5]`, `${show(m[5])} (pass) must be "0", "1" or "2"`);
  }),
};

// why some common keys leave the inert set, for the message only: whether a key is accepted is
// decided by INERT_KEYS alone, never by this table.
const WHY_NOT_INERT: { [key: string]: string } = {
  user: 'cloud-init makes it the image\'s default user, with passwordless sudo',
  users: 'it creates accounts, with sudo rules and keys of its own (accounts come from the users prop)',
  groups: 'it adds members to any group, sudo included (groups come from the users prop)',
  runcmd: 'its commands run as root',
  bootcmd: 'its commands run as root, at every boot',
  write_files: 'it writes files anywhere',
  rsyslog: 'its configs[].filename writes a file at any path',
  random_seed: 'its file writes any path',
  apt: 'it adds apt sources, keys and hooks that run as root',
  snap: 'its commands run as root',
};

/** why `key` (not inert) is refused. */
function whyNotInert(key: string): string {
  const specific = Object.prototype.hasOwnProperty.call(WHY_NOT_INERT, key) ? WHY_NOT_INERT[key] : 'cloud-init acts on it as root at first boot';
  return `${specific}, and it is not one of the keys known to be inert (${INERT_KEYS_SUMMARY})`;
}

/**
 * Checks `extra`, the user's cloud-config (see `DropletOptions.extraCloudConfig`), and returns
 * warnings. Without `runsAsRoot` it throws unless every key, sub-key and value is in the inert
 * set; with it, anything but `merge_how`/`merge_type` is accepted and a warning says what runs
 * as root.
 */
export function checkExtraCloudConfig(field: string, extra: unknown, options: { runsAsRoot?: boolean } = {}): string[] {
  if (!isObject(extra)) {
    throw new Error(`${field} must be a cloud-config object such as { packages: ["htop"] }, got ${show(extra)}`);
  }
  // the merge is ours (composeUserData sets it), even with the opt-in: it is what keeps every
  // setting of ours winning over theirs.
  for (const key of ['merge_how', 'merge_type']) {
    if (Object.prototype.hasOwnProperty.call(extra, key)) throw new Error(`${field}.${key} is refused: the merge is fixed so our settings win; remove it`);
  }
  // invariant: what extraCloudConfig may do without runsAsRoot cannot touch accounts, sudo, sshd,
  // PAM, systemd, cron, apt hooks, cloud-init itself, the metadata guard or our files. It holds
  // by allowlist: every key, sub-key and value must be known to be inert (INERT_KEYS), anything
  // else is a refusal. Files and mounts go only below application prefixes none of those read;
  // packages come from the image's own apt sources (adding a source, key or hook is refused),
  // and what a Debian package's maintainer scripts install is the distribution's doing.
  const refusals: Refusal[] = [];
  const refuse: Refuse = (at, why) => refusals.push({ at, why });
  for (const [key, value] of Object.entries(extra)) {
    const at = `${field}.${key}`;
    const check = Object.prototype.hasOwnProperty.call(INERT_KEYS, key) ? INERT_KEYS[key] : undefined;
    if (check === undefined) refuse(at, whyNotInert(key));
    else check(at, value, refuse);
  }
  // a file below a volume's mount point lands on the volume (a deferred write runs after mounts),
  // whose own contents, a symlink on it say, would decide where it ends up.
  const mountPoints = Array.isArray(extra.mounts) ? extra.mounts.map((m) => (Array.isArray(m) ? m[1] : undefined)).filter((p): p is string => typeof p === 'string') : [];
  (Array.isArray(extra.write_files) ? extra.write_files : []).forEach((f, i) => {
    const path = isObject(f) ? f.path : undefined;
    const under = mountPoints.find((m) => typeof path === 'string' && (path === m || path.startsWith(`${m}/`)));
    if (under !== undefined) refuse(`${field}.write_files[${i}].path`, `${show(path)} lies below mount point ${show(under)}: the volume's own contents (a symlink on it) would decide where the file lands`);
  });

  if (options.runsAsRoot) {
    if (refusals.length === 0) {
      return [`${RUN_AS_ROOT_OPT_IN} is true, but ${field} needs no opt-in (everything in it is known to be inert): remove ${RUN_AS_ROOT_OPT_IN}`];
    }
    const where = [...new Set(refusals.map((r) => r.at))];
    return [
      `${field} runs as root at first boot (${RUN_AS_ROOT_OPT_IN} is true): ${where.slice(0, 5).join(', ')}${where.length > 5 ? ` and ${where.length - 5} more` : ''} ` +
      'can undo every guarantee of this library (accounts, sshd, sudo, the metadata guard)',
    ];
  }
  if (refusals.length) {
    const [first] = refusals;
    const rest = [...new Set(refusals.map((r) => r.at))].filter((at) => at !== first.at);
    const more = rest.length ? ` (also refused: ${rest.slice(0, 5).join(', ')}${rest.length > 5 ? ` and ${rest.length - 5} more` : ''})` : '';
    throw new Error(`${first.at} is refused: ${first.why}; set ${RUN_AS_ROOT_OPT_IN}: true to run it as root anyway, which can undo every guarantee of this library${more}`);
  }
  return [];
}

/**
 * `ours` (the rendered #cloud-config) alone when there is no extra config, else a MIME multipart
 * of ours then theirs (as JSON, which is YAML) with the merge settings that keep ours winning.
 * `escape` is applied to their part (Terraform template sequences; ours is escaped already).
 */
export function composeUserData(ours: string, extra?: { [key: string]: any }, escape: (text: string) => string = (t) => t): string {
  if (extra === undefined) return ours;
  const theirs = `#cloud-config\n${escape(JSON.stringify({ ...extra, merge_how: EXTRA_MERGE_HOW }))}\n`;
  if (ours.includes(MIME_BOUNDARY) || theirs.includes(MIME_BOUNDARY)) {
    throw new Error(`extraCloudConfig contains the MIME boundary "${MIME_BOUNDARY}"; remove it`);
  }
  const part = (name: string, body: string) => [
    `--${MIME_BOUNDARY}`,
    'Content-Type: text/cloud-config; charset="utf-8"',
    'MIME-Version: 1.0',
    'Content-Transfer-Encoding: 8bit',
    `Content-Disposition: attachment; filename="${name}"`,
    '',
    body.endsWith('\n') ? body : `${body}\n`,
  ].join('\n');
  return [
    `Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"`,
    'MIME-Version: 1.0',
    '',
    part('cdktf-access-droplet.cfg', ours),
    part('extra-cloud-config.cfg', theirs),
    `--${MIME_BOUNDARY}--`,
    '',
  ].join('\n');
}
