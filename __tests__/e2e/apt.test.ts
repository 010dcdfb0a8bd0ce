// the signed apt repository the e2e images hold, and publishing a newer stand-in cloudflared in
// it: built here as the image build does, then read by apt itself with lists of its own.
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { APT_SUITE, createRepository, poolPath, publishStandin, STANDIN_VERSION, standinProgram } from '../../e2e/apt';
import { describeReal, tool } from '../real/helpers';


describe('stand-in cloudflared', () => {
  test('prints the version of its package, as cloudflared prints its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'e2e-standin-'));
    try {
      writeFileSync(join(dir, 'cloudflared'), standinProgram('2099.1.0'), { mode: 0o755 });
      expect(execFileSync(join(dir, 'cloudflared'), ['--version'], { encoding: 'utf8' })).toBe('cloudflared version 2099.1.0 (built e2e stand-in)\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeReal('e2e apt repository', [
  tool('/usr/bin/dpkg-deb', 'dpkg'), tool('/usr/bin/gpg', 'gnupg'), tool('/usr/bin/gpgv', 'gpgv'), tool('/usr/bin/apt-get', 'apt'),
  tool('/usr/bin/python3', 'python3'),
], () => {
  let dir: string;
  let repo: string;
  let key: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'e2e-apt-'));
    repo = join(dir, 'repo');
    key = join(dir, 'signing-key.asc');
    mkdirSync(repo);
    await createRepository(repo, key, dir);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** apt's view of `root` as the droplet sees it (signed-by the published key), in a sandbox of its own. */
  function aptPolicy(root: string): string {
    const state = mkdtempSync(join(dir, 'apt-'));
    mkdirSync(join(state, 'lists', 'partial'), { recursive: true });
    writeFileSync(join(state, 'sources.list'), `deb [signed-by=${root}/cloudflared-e2e.gpg] file://${root} ${APT_SUITE} main\n`);
    const opts = [
      '-o', `Dir::State::Lists=${join(state, 'lists')}`, '-o', `Dir::Etc::sourcelist=${join(state, 'sources.list')}`,
      '-o', 'Dir::Etc::sourceparts=-', '-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache=',
      '-o', `Dir::State::status=${join(state, 'status')}`, '-o', 'APT::Sandbox::User=root',
    ];
    writeFileSync(join(state, 'status'), '');
    execFileSync('/usr/bin/apt-get', [...opts, '-q', 'update'], { encoding: 'utf8' });
    return execFileSync('/usr/bin/apt-cache', [...opts, 'policy', 'cloudflared'], { encoding: 'utf8' });
  }

  test('the image\'s repository: the stand-in of the first version, signed, with the key published beside it and the secret key outside', () => {
    expect(aptPolicy(repo)).toMatch(new RegExp(`Candidate: ${STANDIN_VERSION.replace(/\./g, '\\.')}\\n`));
    expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PGP PRIVATE KEY BLOCK-----/);
    expect(execFileSync('find', [repo, '-type', 'f'], { encoding: 'utf8' })).not.toMatch(/PRIVATE|signing-key/);
  });

  test('publishing a newer version: a tar of the package and the re-signed indexes that, unpacked over a copy of the old repository, makes apt see it', async () => {
    const copy = join(dir, 'copy');
    execFileSync('cp', ['-a', repo, copy]);
    const vm = join(dir, 'vm-srv-apt');
    execFileSync('cp', ['-a', repo, vm]);
    const archive = await publishStandin(copy, key, '0.0.0-e2e2', dir);
    const tar = join(dir, 'publish.tar');
    writeFileSync(tar, archive);
    const members = execFileSync('tar', ['-t', '-v', '-f', tar], { encoding: 'utf8' });
    expect(members).toContain(poolPath('0.0.0-e2e2'));
    expect(members).toMatch(/root\/root .*dists\/e2e\/InRelease/);
    execFileSync('tar', ['-x', '-f', tar, '-C', vm]);
    const policy = aptPolicy(vm);
    expect(policy).toMatch(/Candidate: 0\.0\.0-e2e2\n/);
    // both versions stay listed, as in Cloudflare's repository.
    expect(policy).toMatch(/0\.0\.0-e2e1 500/);
    const x = join(dir, 'x');
    execFileSync('dpkg-deb', ['-x', join(vm, poolPath('0.0.0-e2e2')), x]);
    expect(execFileSync(join(x, 'usr/bin/cloudflared'), ['--version'], { encoding: 'utf8' })).toBe('cloudflared version 0.0.0-e2e2 (built e2e stand-in)\n');
  }, 60_000);

  test('refuses a version dpkg would not take', async () => {
    await expect(publishStandin(join(dir, 'copy'), key, '1.0 beta', dir)).rejects.toThrow(/is not a Debian version/);
  });
});
