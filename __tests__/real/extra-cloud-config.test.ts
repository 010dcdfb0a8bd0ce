// lib/user-data.ts against cloud-init 22.4 itself: the keys its schema knows are refused unless
// they are in the inert set, and the inert set, generated at random and merged with ours by
// cloud-init's own code, leaves everything the invariant protects as it was when cloud-init's own
// modules (write_files, disk_setup, mounts, timezone, package_update_upgrade_install,
// write_files_deferred) run it as root. The machine is never changed: the modules run chrooted in
// a copy-on-write overlay of / (upper layer on a tmpfs) inside a private mount namespace; only a
// loop device per volume is attached for the run, and detached after it.
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { renderCloudInit } from '../../lib/cloud-init';
import { checkExtraCloudConfig, composeUserData, EXTRA_FILE_PREFIXES, EXTRA_MOUNT_PREFIXES } from '../../lib/user-data';
import { acceptedConfig, prng } from '../extra-cloud-config-cases';
import { CA_KEY, TUNNEL_TOKEN } from '../fixtures';
import {
  cloudInitPython, cloudInitSchemaMany, cloudInitTopLevelKeys, describeReal, makeTempDir, NEEDS, removeTempDirs, Requirement, runOk, TOOLS,
} from './helpers';

const ours = renderCloudInit({ caPublicKey: CA_KEY, tunnelToken: TUNNEL_TOKEN });
const INERT = ['packages', 'package_update', 'package_upgrade', 'package_reboot_if_required', 'timezone', 'write_files', 'fs_setup', 'mounts'];

const tool = (path: string, aptPackage: string): Requirement => ({ what: path, aptPackage, present: () => existsSync(path) });
const LOSETUP = tool('/usr/sbin/losetup', 'mount');
const MKFS_EXT4 = tool('/usr/sbin/mkfs.ext4', 'e2fsprogs');

// cloud-init's schema (config/schemas/schema-cloud-config-v1.json, as get_schema() loads it):
// the keys an item of `key`'s list may have.
function schemaItemKeys(key: string): string[] {
  const script = [
    'import json, sys',
    'from cloudinit.config.schema import get_schema',
    's = get_schema()',
    'for d in s["$defs"].values():',
    '    p = d.get("properties", {}).get(sys.argv[1])',
    '    if p: print(json.dumps(sorted(p["items"]["properties"])))',
  ].join('\n');
  return JSON.parse(runOk(cloudInitPython(), ['-c', script, key]).stdout) as string[];
}

// runs in a private mount namespace (unshare -m), as root. For each case: cloud-init's own
// user-data processing and part handler merge the MIME parts (as __tests__/real/user-data.test.ts
// does); / is overlaid copy-on-write (upper layer on a tmpfs), /dev likewise, /proc and /sys bound;
// each volume of the config is a loop device on a sparse file, linked as DigitalOcean names it;
// a child chroots there and runs the modules' real handle() in cloud-init's stage order, with two
// stubs: apt-get is recorded, not run (no network), and systemctl is never called (no systemd to
// talk to from a chroot). It reports what the run changed in the protected files, `sshd -T`, the mounts,
// the files the config asked for, the apt command lines, and every file the run changed (the
// overlay's upper layer).
const DRIVER = String.raw`
import hashlib, json, os, shutil, stat, subprocess, sys, traceback, types, logging
sys.dont_write_bytecode = True
from cloudinit import distros, helpers, subp, user_data
from cloudinit.handlers.cloud_config import CloudConfigPartHandler
from cloudinit.config import (cc_write_files, cc_disk_setup, cc_mounts, cc_timezone,
    cc_package_update_upgrade_install, cc_write_files_deferred)
import yaml

spec = json.load(open(sys.argv[1]))
scratch = spec['scratch']

def sh(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('%s: %s %s' % (' '.join(args), r.stdout, r.stderr))
    return r.stdout.strip()

def merge(text, base):
    out = os.path.join(base, 'merged.yaml')
    message = user_data.UserDataProcessor({}).process(text.encode())
    paths = helpers.Paths({'cloud_dir': os.path.join(base, 'cloud')})
    paths.get_ipath = lambda *a: out
    handler = CloudConfigPartHandler(paths)
    handler.handle_part(None, '__begin__', None, None, None, None)
    for part in message.walk():
        if part.get_content_maintype() == 'multipart':
            continue
        handler.handle_part(None, part.get_content_type(), part.get_filename(), part.get_payload(decode=True).decode(), 3, dict(part.items()))
    handler.handle_part(None, '__end__', None, None, None, None)
    return yaml.safe_load(open(out).read().split('\n', 1)[1])

def fingerprint(path):
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        return 'link -> ' + os.readlink(path)
    meta = '%o %d:%d' % (st.st_mode, st.st_uid, st.st_gid)
    if stat.S_ISREG(st.st_mode):
        with open(path, 'rb') as f:
            return 'file %s %s' % (meta, hashlib.sha256(f.read()).hexdigest())
    if stat.S_ISDIR(st.st_mode):
        opaque = ''
        try:
            opaque = ' opaque' if os.getxattr(path, 'trusted.overlay.opaque') == b'y' else ''
        except OSError:
            pass
        return 'dir ' + meta + opaque
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return 'whiteout (deleted)'
    return 'special ' + meta

def tree(top, strip=''):
    found = {}
    if not os.path.lexists(top):
        return found
    found[top[len(strip):] or '/'] = fingerprint(top)
    if os.path.isdir(top) and not os.path.islink(top):
        for d, dirs, files in os.walk(top):
            for n in dirs + files:
                p = os.path.join(d, n)
                found[p[len(strip):]] = fingerprint(p)
    return found

def snapshot():
    found = {}
    for top in spec['protected']:
        found.update(tree(top))
    return found

def run_modules(cfg):
    log = logging.getLogger('extra-cloud-config')
    calls, apt = [], []
    real_subp = subp.subp
    def recording_subp(args, *a, **kw):
        argv = [str(x) for x in (args if isinstance(args, (list, tuple)) else [args])]
        calls.append(argv)
        if os.path.basename(argv[0]) == 'systemctl':
            return ('', '')
        return real_subp(args, *a, **kw)
    subp.subp = recording_subp
    distro = distros.fetch('debian')('debian', {}, helpers.Paths({}))
    distro._wait_for_apt_command = lambda short_cmd, subp_kwargs, timeout=None: apt.append([str(x) for x in subp_kwargs['args']])
    distro._runner = types.SimpleNamespace(run=lambda name, func, args, freq=None: func(*args))
    cloud = types.SimpleNamespace(distro=distro, device_name_to_device=lambda name: None)
    before = snapshot()
    errors = {}
    for name, module in [('write_files', cc_write_files), ('disk_setup', cc_disk_setup), ('mounts', cc_mounts),
                         ('timezone', cc_timezone), ('package_update_upgrade_install', cc_package_update_upgrade_install),
                         ('write_files_deferred', cc_write_files_deferred)]:
        try:
            module.handle(name, cfg, cloud, log, [])
        except Exception:
            errors[name] = traceback.format_exc()
    sshd = subprocess.run(['/usr/sbin/sshd', '-T'], capture_output=True, text=True)
    mounts = {}
    for line in open('/proc/self/mountinfo'):
        f = line.split()
        mounts[f[4]] = {'options': f[5].split(','), 'fstype': f[f.index('-') + 1]}
    files = {}
    for entry in spec['theirFiles']:
        p = entry
        files[p] = {'realpath': os.path.realpath(p), 'abspath': os.path.abspath(p), 'fingerprint': fingerprint(p) if os.path.lexists(p) else None}
    localtime = os.path.realpath('/etc/localtime') if os.path.lexists('/etc/localtime') else None
    after = snapshot()
    changed = {p: [before.get(p), after.get(p)] for p in set(before) | set(after) if before.get(p) != after.get(p)}
    return {'changed': changed, 'sshd': sshd.stdout if sshd.returncode == 0 else 'sshd -T failed: ' + sshd.stderr,
            'mounts': mounts, 'fstab': open('/etc/fstab').read(), 'files': files, 'apt': apt, 'calls': calls,
            'timezone': open('/etc/timezone').read() if os.path.exists('/etc/timezone') else None,
            'localtime': localtime, 'errors': errors}

def run_case(i, case):
    base = os.path.join(scratch, 'case%d' % i)
    for d in ['upper', 'work', 'root', 'dev-upper', 'dev-work']:
        os.makedirs(os.path.join(base, d))
    cfg = merge(case['userData'], base)
    spec['theirFiles'] = case['theirFiles']
    root = os.path.join(base, 'root')
    loops = []
    sh('mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=/,upperdir=%s/upper,workdir=%s/work' % (base, base), root)
    try:
        sh('mount', '--rbind', '/proc', root + '/proc')
        sh('mount', '--rbind', '/sys', root + '/sys')
        sh('mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=/dev,upperdir=%s/dev-upper,workdir=%s/dev-work' % (base, base), root + '/dev')
        os.makedirs(root + '/dev/disk/by-id', exist_ok=True)
        for name in case['volumes']:
            image = os.path.join(base, name + '.img')
            with open(image, 'wb') as f:
                f.truncate(64 << 20)
            loop = sh('losetup', '--find', '--show', image)
            loops.append(loop)
            os.symlink(loop, root + '/dev/disk/by-id/scsi-0DO_Volume_' + name)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                os.chroot(root)
                os.chdir('/')
                out = json.dumps(run_modules(cfg))
            except BaseException:
                out = json.dumps({'errors': {'driver': traceback.format_exc()}})
            with os.fdopen(w, 'w') as f:
                f.write(out)
            os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            result = json.loads(f.read())
        os.waitpid(pid, 0)
        result['upper'] = tree(os.path.join(base, 'upper'), strip=os.path.join(base, 'upper'))
        result['merged'] = cfg
        return result
    finally:
        subprocess.run(['umount', '-R', root], capture_output=True)
        for loop in loops:
            subprocess.run(['losetup', '-d', loop], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

sh('mount', '-t', 'tmpfs', '-o', 'mode=0700', 'cdktf-extra-cloud-config', scratch)
results = [run_case(i, c) for i, c in enumerate(spec['cases'])]
with open(spec['out'], 'w') as f:
    json.dump(results, f)
`;

/** what the invariant protects, as the driver snapshots it (each a file or a tree). */
const PROTECTED = [
  '/etc/ssh', '/etc/sudoers', '/etc/sudoers.d', '/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow',
  '/etc/systemd', '/usr/lib/systemd', '/lib/systemd', '/run/systemd', '/etc/pam.d', '/etc/security',
  '/etc/crontab', '/etc/cron.d', '/etc/cron.hourly', '/etc/cron.daily', '/etc/cron.weekly', '/etc/cron.monthly', '/var/spool/cron',
  '/etc/apt/apt.conf.d', '/etc/apt/sources.list', '/etc/apt/sources.list.d', '/etc/apt/trusted.gpg.d', '/etc/cloud',
  '/etc/default', '/etc/nftables.conf', '/etc/cloudflared-access', '/usr/local/lib/cdktf-access-droplet', '/root/.ssh',
  '/etc/ld.so.preload', '/etc/environment', '/etc/nsswitch.conf',
];

/**
 * Files an accepted config may change besides those below its prefixes: the timezone module's two
 * (cc_timezone -> distros.set_etc_timezone), the mounts module's fstab, and libmount's record of
 * the userspace options (comment=cloudconfig) of what `mount -a` mounted (mount(8), FILES).
 */
const MAY_CHANGE = ['/etc/timezone', '/etc/localtime', '/etc/fstab', '/run/mount/utab', '/run/mount/utab.lock'];

interface CaseResult {
  /** the protected files the run changed: path -> [before, after] (null: absent). */
  readonly changed: { [path: string]: [string | null, string | null] };
  readonly sshd: string;
  readonly mounts: { [point: string]: { options: string[]; fstype: string } };
  readonly fstab: string;
  readonly files: { [path: string]: { realpath: string; abspath: string; fingerprint: string | null } };
  readonly apt: string[][];
  readonly calls: string[][];
  readonly timezone: string | null;
  readonly localtime: string | null;
  readonly errors: { [module: string]: string };
  readonly upper: { [path: string]: string };
  readonly merged: { [key: string]: unknown };
}

interface Case {
  readonly name: string;
  readonly extra?: { [key: string]: any };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const below = (path: string, prefixes: string[]) => prefixes.some((p) => path.startsWith(p) || path === p.slice(0, -1));

/**
 * How a run of the modules over ours + `extra` differs from the run over ours alone, in what the
 * invariant protects: [] when it holds.
 */
function violations(run: CaseResult, baseline: CaseResult, extra: { [key: string]: any }): string[] {
  const found: string[] = [];
  for (const [module, error] of Object.entries(run.errors)) found.push(`module ${module} failed: ${error}`);
  // 1. the protected files change exactly as with ours alone (compared as changes within each run:
  // other tests on this machine add and remove accounts meanwhile), and sshd's effective
  // configuration is the same.
  const paths = new Set([...Object.keys(run.changed), ...Object.keys(baseline.changed)]);
  for (const p of paths) {
    const [mine, theirs] = [run.changed[p], baseline.changed[p]];
    if (JSON.stringify(mine) !== JSON.stringify(theirs)) found.push(`protected ${p}: ${mine ? `${mine[0] ?? 'absent'} -> ${mine[1] ?? 'absent'}` : 'unchanged'}, with ours alone ${theirs ? `-> ${theirs[1] ?? 'absent'}` : 'unchanged'}`);
  }
  if (run.sshd !== baseline.sshd) {
    const before = new Set(baseline.sshd.split('\n'));
    found.push(`sshd -T changed: ${run.sshd.split('\n').filter((l) => !before.has(l)).join('; ')}`);
  }
  // 2. every file the run changed anywhere on the machine (the overlay's upper layer), beyond what
  // ours alone changes, lies below a prefix or is one of MAY_CHANGE.
  const upperPaths = new Set([...Object.keys(run.upper), ...Object.keys(baseline.upper)]);
  for (const p of upperPaths) {
    if (run.upper[p] === baseline.upper[p]) continue;
    if (below(p, [...EXTRA_FILE_PREFIXES, ...EXTRA_MOUNT_PREFIXES]) || MAY_CHANGE.includes(p)) continue;
    // a directory copied up because something was written below it keeps its owner and mode.
    if (run.upper[p]?.startsWith('dir ') && baseline.upper[p] === undefined) continue;
    found.push(`changed outside the prefixes: ${p}: ${baseline.upper[p] ?? 'unchanged'} -> ${run.upper[p] ?? 'unchanged'}`);
  }
  // 3. what the modules did with their keys stayed where the check promised.
  for (const [path, f] of Object.entries(run.files)) {
    if (f.fingerprint === null) found.push(`write_files ${path} was not written`);
    if (!below(f.realpath, EXTRA_FILE_PREFIXES) || !below(f.abspath, EXTRA_FILE_PREFIXES)) found.push(`write_files ${path} landed at ${f.realpath}`);
    if (f.fingerprint && /^file [0-7]*[4-7][0-7]{3} /.test(f.fingerprint)) found.push(`write_files ${path} has a set-id or sticky bit: ${f.fingerprint}`);
  }
  if (run.localtime !== baseline.localtime && !(run.localtime ?? '').startsWith('/usr/share/zoneinfo/')) found.push(`/etc/localtime is ${run.localtime}`);
  const fstabBefore = new Set(baseline.fstab.split('\n'));
  for (const line of run.fstab.split('\n').filter((l) => !fstabBefore.has(l))) {
    const [device, point, , options] = line.split(/\s+/);
    if (!/^\/dev\/disk\/by-id\/scsi-0DO_Volume_/.test(device) || !below(point, EXTRA_MOUNT_PREFIXES) || !options.split(',').includes('nosuid') || !options.split(',').includes('nodev')) {
      found.push(`fstab line ${JSON.stringify(line)}`);
    }
  }
  for (const [point, m] of Object.entries(run.mounts)) {
    if (baseline.mounts[point] !== undefined) continue;
    if (!below(point, EXTRA_MOUNT_PREFIXES) || !m.options.includes('nosuid') || !m.options.includes('nodev')) found.push(`mounted ${point} ${m.options.join(',')}`);
  }
  // apt-get's arguments after the subcommand are exactly the packages asked for.
  const asked = (extra.packages ?? []).map((p: string | string[]) => (Array.isArray(p) ? p.join('=') : p));
  for (const argv of run.apt) {
    const sub = argv.findIndex((a) => ['update', 'install', 'dist-upgrade'].includes(a));
    const args = argv.slice(sub + 1);
    if (argv[sub] === 'install' ? JSON.stringify(args) !== JSON.stringify(asked) : args.length > 0) found.push(`apt-get ${argv.join(' ')}`);
    if (args.some((a) => a.startsWith('-'))) found.push(`apt-get option from the config: ${argv.join(' ')}`);
  }
  return found;
}

/** their write_files paths, as the driver should find them. */
function theirFiles(extra: { [key: string]: any } | undefined): string[] {
  return [...new Set(((extra?.write_files ?? []) as { path: string }[]).map((f) => f.path))];
}

function volumesOf(extra: { [key: string]: any } | undefined): string[] {
  const devices = [...(extra?.fs_setup ?? []).map((f: { device: string }) => f.device), ...(extra?.mounts ?? []).map((m: string[]) => m[0])];
  return [...new Set(devices.map((d: string) => /scsi-0DO_Volume_([a-z0-9-]+)$/.exec(d)?.[1]).filter((v): v is string => v !== undefined))];
}

/** Runs the driver over the cases (first: ours alone) in one private mount namespace. */
function runModules(cases: Case[], dir: string): CaseResult[] {
  const specFile = join(dir, 'spec.json');
  const driver = join(dir, 'driver.py');
  const scratch = join(dir, 'scratch');
  mkdirSync(scratch);
  writeFileSync(driver, DRIVER);
  const out = join(dir, 'results.json');
  writeFileSync(specFile, JSON.stringify({
    scratch,
    out,
    protected: PROTECTED,
    cases: cases.map((c) => ({ userData: c.extra ? composeUserData(ours, c.extra) : ours, theirFiles: theirFiles(c.extra), volumes: volumesOf(c.extra) })),
  }));
  runOk(TOOLS.unshare, ['--mount', '--propagation', 'private', cloudInitPython(), driver, specFile], { timeoutMs: 240000 });
  return JSON.parse(readFileSync(out, 'utf8')) as CaseResult[];
}

// one whole-set config by hand, then random ones (the real run has mkfs.ext4 only, and its loop
// devices take no partition number).
const HAND: Case = {
  name: 'every inert key at once',
  extra: {
    packages: ['htop', 'g++=4:12.2.0-3', ['curl', '7.88.1-10+deb12u5']],
    package_update: true, package_upgrade: true, package_reboot_if_required: true,
    timezone: 'America/Argentina/Buenos_Aires',
    fs_setup: [{ device: '/dev/disk/by-id/scsi-0DO_Volume_data-1', filesystem: 'ext4', label: 'data', partition: 'none', overwrite: true }],
    mounts: [['/dev/disk/by-id/scsi-0DO_Volume_data-1', '/srv/data', 'ext4', 'defaults,nofail,discard,noatime,nosuid,nodev', '0', '2']],
    write_files: [
      { path: '/opt/app/env', content: 'X=1\n', owner: 'nobody:nogroup', permissions: '0600' },
      { path: '/opt/app/env', content: 'Y=2\n', append: true },
      { path: '/srv/www/index.html', content: Buffer.from('<h1>hi</h1>\n').toString('base64'), encoding: 'b64', defer: true },
      { path: '/opt/app/run.sh', content: '#!/bin/sh\n', permissions: '0755' },
    ],
  },
};
const SEED = 19;
const RANDOM: Case[] = Array.from({ length: 14 }, (_, i) => i).map((i) => {
  const r = prng(SEED * 1000 + i);
  return { name: `random config ${SEED * 1000 + i}`, extra: acceptedConfig(r, { filesystems: ['ext4'], partitions: ['auto', 'any', 'none'] }) };
});

// refused configs that, run with the opt-in, DO break the invariant, and what the check must say.
const OPTED_IN: [Case, RegExp][] = [
  [{ name: 'an sshd drop-in before ours', extra: { write_files: [{ path: '/etc/ssh/sshd_config.d/01-extra.conf', content: 'PasswordAuthentication yes\nAllowTcpForwarding yes\n' }] } },
    /protected \/etc\/ssh\/sshd_config\.d\/01-extra\.conf: absent -> file .*, with ours alone unchanged/],
  [{ name: 'a user.slice drop-in that allows the metadata address', extra: { write_files: [{ path: '/etc/systemd/system/user.slice.d/99-allow.conf', content: '[Slice]\nIPAddressAllow=169.254.169.254\n' }] } },
    /protected \/etc\/systemd\/system\/user\.slice\.d\/99-allow\.conf: absent -> file .*, with ours alone unchanged/],
  [{ name: 'a timezone that walks out of zoneinfo', extra: { timezone: '../../../etc/shadow' } }, /\/etc\/localtime is \/etc\/shadow/],
  [{ name: 'a package that is an apt option', extra: { packages: ['-oAPT::Update::Pre-Invoke::=touch /etc/cron.d/x'] } }, /apt-get option from the config/],
  // cloud-init chmods, then chowns (cc_write_files.write_files), and chown clears set-id bits; but
  // an owner of "none" (util.extract_usergroup) skips the chown, and the bit stays.
  [{ name: 'a set-id file in /opt', extra: { write_files: [{ path: '/opt/app/su', content: '#!/bin/sh\n', permissions: '4755', owner: 'none' }] } },
    /write_files \/opt\/app\/su has a set-id or sticky bit: file 104755 /],
];

describeReal('extraCloudConfig against cloud-init\'s own schema and modules',
  [NEEDS.root, NEEDS.cloudInit, NEEDS.cloudInitModules, NEEDS.sshd, NEEDS.unshare, LOSETUP, MKFS_EXT4], () => {
    let dir: string;
    beforeAll(() => {
      dir = makeTempDir('extra-cloud-config');
    });
    afterAll(() => removeTempDirs());

    test('every top-level key of cloud-init\'s schema outside the inert set is refused, naming it and the opt-in; with the opt-in it warns', () => {
      const keys = [...cloudInitTopLevelKeys()];
      expect(keys.length).toBeGreaterThan(80); // the schema was read, not an empty list.
      expect(keys).toEqual(expect.arrayContaining(INERT));
      for (const key of keys.filter((k) => !INERT.includes(k))) {
        for (const value of [true, {}, [], 'x', [{ path: '/opt/x' }]]) {
          expect(() => checkExtraCloudConfig('extraCloudConfig', { [key]: value }))
            .toThrow(new RegExp(`^extraCloudConfig\\.${key} is refused: .*; set dangerouslyRunExtraCloudConfigAsRoot: true to run it as root anyway`));
          expect(checkExtraCloudConfig('extraCloudConfig', { [key]: value }, { runsAsRoot: true })).toEqual([expect.stringMatching(/runs as root at first boot/)]);
        }
      }
    });

    test.each([
      ['write_files', ['path', 'content', 'owner', 'permissions', 'encoding', 'append', 'defer']],
      ['fs_setup', ['device', 'filesystem', 'label', 'partition', 'overwrite']],
    ])('every key the schema allows in a %s entry beyond the inert ones is refused', (key, inert) => {
      const subKeys = schemaItemKeys(key);
      expect(subKeys).toEqual(expect.arrayContaining(inert));
      const base = key === 'write_files' ? { path: '/opt/x' } : { device: '/dev/disk/by-id/scsi-0DO_Volume_v', filesystem: 'ext4' };
      for (const sub of subKeys.filter((k) => !inert.includes(k))) {
        expect(() => checkExtraCloudConfig('extraCloudConfig', { [key]: [{ ...base, [sub]: 'x' }] }))
          .toThrow(new RegExp(`^extraCloudConfig\\.${key}\\[0\\]\\.${sub} is refused: the key is not one of those known to be inert here`));
      }
    });

    test('the generated accepted configs pass the check and cloud-init\'s schema', () => {
      const cases = [HAND, ...RANDOM];
      for (const c of cases) expect({ name: c.name, warnings: checkExtraCloudConfig('extraCloudConfig', c.extra) }).toEqual({ name: c.name, warnings: [] });
      const results = cloudInitSchemaMany(cases.map((c) => `#cloud-config\n${JSON.stringify(c.extra)}\n`), dir);
      expect(results.filter((r) => !r.valid)).toEqual([]);
    });

    test('cloud-init\'s modules over the merged user_data: everything protected is as ours alone leaves it; the refused configs, run with the opt-in, are caught', () => {
      for (const [c] of OPTED_IN) {
        expect(() => checkExtraCloudConfig('extraCloudConfig', c.extra)).toThrow(/is refused/);
        expect(checkExtraCloudConfig('extraCloudConfig', c.extra, { runsAsRoot: true })).toHaveLength(1);
      }
      const accepted = [HAND, ...RANDOM];
      const cases: Case[] = [{ name: 'ours alone' }, ...accepted, ...OPTED_IN.map(([c]) => c)];
      const [baseline, ...runs] = runModules(cases, dir);

      // the baseline did the work: ours wrote our files, and sshd -T reads our drop-in.
      expect(baseline.errors).toEqual({});
      expect(Object.keys(baseline.changed)).toEqual(expect.arrayContaining(['/etc/ssh/ca.pub', '/etc/cloudflared-access/tunnel.env', '/usr/local/lib/cdktf-access-droplet/setup']));
      expect(baseline.sshd).toMatch(/^trustedusercakeys \/etc\/ssh\/ca\.pub$/m);

      accepted.forEach((c, i) => {
        expect({ case: c.name, extra: c.extra, violations: violations(runs[i], baseline, c.extra!) }).toEqual({ case: c.name, extra: c.extra, violations: [] });
      });
      // what cloud-init merged (ours, then theirs) is valid cloud-config.
      const schema = cloudInitSchemaMany([baseline, ...runs.slice(0, accepted.length)].map((r) => `#cloud-config\n${JSON.stringify(r.merged)}\n`), dir);
      expect(schema.filter((r) => !r.valid)).toEqual([]);
      // the accepted runs did what they said (or the comparison would prove nothing).
      const hand = runs[0];
      expect(hand.timezone).toBe('America/Argentina/Buenos_Aires\n');
      expect(hand.mounts['/srv/data']).toMatchObject({ fstype: 'ext4', options: expect.arrayContaining(['nosuid', 'nodev']) });
      // the appending entry comes second, and cloud-init applies its (default) owner and mode.
      expect(hand.files['/opt/app/env'].fingerprint).toBe(`file 100644 0:0 ${sha256('X=1\nY=2\n')}`);
      expect(hand.files['/srv/www/index.html'].fingerprint).toBe(`file 100644 0:0 ${sha256('<h1>hi</h1>\n')}`);
      expect(hand.files['/opt/app/run.sh'].fingerprint).toBe(`file 100755 0:0 ${sha256('#!/bin/sh\n')}`);
      expect(hand.apt.map((a) => a.slice(a.findIndex((x) => ['update', 'install', 'dist-upgrade'].includes(x))))).toEqual([
        ['update'], ['dist-upgrade'], ['update'], ['install', 'htop', 'g++=4:12.2.0-3', 'curl=7.88.1-10+deb12u5'],
      ]);
      const mounted = RANDOM.filter((c) => c.extra!.mounts).length;
      expect(runs.slice(1, 1 + RANDOM.length).filter((r) => Object.keys(r.mounts).some((p) => below(p, EXTRA_MOUNT_PREFIXES) && !baseline.mounts[p])).length).toBe(mounted);

      OPTED_IN.forEach(([c, expected], i) => {
        const found = violations(runs[accepted.length + i], baseline, c.extra!);
        expect({ case: c.name, found }).toEqual({ case: c.name, found: expect.arrayContaining([expect.stringMatching(expected)]) });
      });
    }, 300000);
  });
