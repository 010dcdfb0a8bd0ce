// the droplet's user_data when the user adds cloud-config of their own: a MIME multipart whose
// first part is ours and second part theirs, merged by cloud-init so that theirs cannot replace
// any of our settings (see extraCloudConfig in DropletOptions).
import { posix } from 'path';
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

// keys that would add a way in, or change how parts merge.
const REFUSED_KEYS: { [key: string]: string } = {
  users: 'accounts come from the users prop (extra accounts could get sudo or keys)',
  groups: 'group members come from the users prop (AccessUser.groups); a groups entry could add anyone to sudo',
  ssh_pwauth: 'password logins stay off',
  ssh_authorized_keys: 'only Access certificates open accounts',
  chpasswd: 'Access users have no password',
  password: 'Access users have no password',
  merge_how: 'the merge is fixed so our settings win',
  merge_type: 'the merge is fixed so our settings win',
};

// paths our cloud-config owns, and what decides who logs in.
const REFUSED_PATHS = [
  '/etc/ssh/', '/etc/sudoers', '/etc/pam.d/', '/etc/cloudflared-access/', '/usr/local/lib/cdktf-access-droplet/',
  '/etc/systemd/system/cdktf-', '/etc/systemd/system/cloudflared', '/etc/systemd/system/ssh',
  // the guard's other layers: an IPAddressAllow= drop-in would override the slice's IPAddressDeny=,
  // and an nftables.service drop-in could stop putting the guard's rules back after a flush.
  '/etc/systemd/system/user.slice', '/etc/systemd/system/user-', '/etc/systemd/system/nftables.service',
  // Debian's nftables.conf starts with "flush ruleset", which would drop the metadata guard's rule.
  '/etc/nftables.conf', '/etc/iptables/',
];

// shell steps that visibly touch sshd's configuration or our services.
const REFUSED_COMMAND = new RegExp([
  'sshd_config', '/etc/ssh\\b', 'auth_principals', 'TrustedUserCAKeys', 'cdktf-metadata-guard', 'cloudflared-access', '/etc/sudoers',
  // the metadata guard's firewall rule, and the address it guards.
  '\\bnft\\b.*\\b(flush|delete)\\b', '\\biptables\\b.*\\s-(F|X|D)\\b', '169\\.254\\.169\\.254',
].join('|'));

/**
 * Throws unless `extra` is a cloud-config object that cannot weaken ours (see
 * `DropletOptions.extraCloudConfig`); tokens inside it are not inspected.
 */
export function checkExtraCloudConfig(field: string, extra: unknown): void {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new Error(`${field} must be a cloud-config object such as { packages: ["htop"] }, got ${JSON.stringify(extra)}`);
  }
  const config = extra as { [key: string]: unknown };
  for (const key of Object.keys(config)) {
    if (key in REFUSED_KEYS) {
      throw new Error(`${field}.${key} is refused: ${REFUSED_KEYS[key]}; remove it`);
    }
  }
  const files = config.write_files;
  if (files !== undefined) {
    if (!Array.isArray(files)) throw new Error(`${field}.write_files must be a list of { path, content }`);
    files.forEach((f, i) => {
      const path = (f as { path?: unknown })?.path;
      if (typeof path !== 'string' || Token.isUnresolved(path)) {
        throw new Error(`${field}.write_files[${i}].path ${JSON.stringify(path)} must be a literal absolute path`);
      }
      const normal = posix.normalize(path);
      const hit = REFUSED_PATHS.find((p) => normal.startsWith(p) || `${normal}/` === p);
      if (!normal.startsWith('/') || hit !== undefined) {
        throw new Error(
          `${field}.write_files[${i}].path "${path}" is refused: it is not absolute or lies in ${hit ?? '?'}, which our cloud-config owns (sshd, sudo, cloudflared, the metadata guard); write elsewhere`,
        );
      }
    });
  }
  for (const key of ['runcmd', 'bootcmd']) {
    const steps = config[key];
    if (steps === undefined) continue;
    if (!Array.isArray(steps)) throw new Error(`${field}.${key} must be a list of commands`);
    steps.forEach((step, i) => {
      const text = JSON.stringify(step);
      // a command given as a list runs as its words joined.
      const command = Array.isArray(step) ? step.map(String).join(' ') : String(step);
      if (REFUSED_COMMAND.test(command)) {
        throw new Error(`${field}.${key}[${i}] ${text} touches sshd's configuration, sudoers, the metadata guard or our services; it could weaken access, so it is refused`);
      }
    });
  }
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
