// the e2e harness takes debootstrap's mirror from the machine's apt configuration: the parser
// for both formats apt reads, on sample files laid out as /etc/apt is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { debianMirror, parseDeb822Sources, parseOneLineSources, readAptSources, resolveMirror } from '../../e2e/mirror';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function etcApt(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'etc-apt-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('apt sources parser', () => {
  test('one-line format: options, comments, deb-src and several components', () => {
    const sources = parseOneLineSources([
      '# a comment',
      'deb-src http://mirror.example/debian bookworm main',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://mirror.example/debian/ bookworm main contrib non-free-firmware # trailing',
      '',
      '   deb http://security.example/debian-security bookworm-security main',
    ].join('\n'), 'sources.list');
    expect(sources).toEqual([
      { types: ['deb-src'], uri: 'http://mirror.example/debian', suites: ['bookworm'], components: ['main'], file: 'sources.list' },
      { types: ['deb'], uri: 'http://mirror.example/debian/', suites: ['bookworm'], components: ['main', 'contrib', 'non-free-firmware'], file: 'sources.list' },
      { types: ['deb'], uri: 'http://security.example/debian-security', suites: ['bookworm-security'], components: ['main'], file: 'sources.list' },
    ]);
  });

  test('deb822: stanzas, case-insensitive fields, several URIs, continuation lines, Enabled: no', () => {
    const sources = parseDeb822Sources([
      '# Debian',
      'Types: deb deb-src',
      'URIs: http://one.example/debian',
      '  http://two.example/debian',
      'suites: trixie trixie-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://off.example/debian',
      'Suites: trixie',
      'Components: main',
      'Enabled: no',
      '',
    ].join('\n'), 'debian.sources');
    expect(sources).toEqual([
      { types: ['deb', 'deb-src'], uri: 'http://one.example/debian', suites: ['trixie', 'trixie-updates'], components: ['main'], file: 'debian.sources' },
      { types: ['deb', 'deb-src'], uri: 'http://two.example/debian', suites: ['trixie', 'trixie-updates'], components: ['main'], file: 'debian.sources' },
    ]);
  });

  test('reads sources.list, then sources.list.d/*.list and *.sources in name order, ignoring other endings', () => {
    const dir = etcApt({
      'sources.list': '# empty but for a comment\n',
      'sources.list.d/50-other.list': 'deb http://third.example/debian bookworm main\n',
      'sources.list.d/10-debian.sources': 'Types: deb\nURIs: http://first.example/debian\nSuites: bookworm\nComponents: main\n',
      'sources.list.d/00-old.list.disabled': 'deb http://disabled.example/debian bookworm main\n',
      'sources.list.d/05-vendor.list.save': 'deb http://saved.example/debian bookworm main\n',
    });
    expect(readAptSources(dir).map((s) => s.uri)).toEqual(['http://first.example/debian', 'http://third.example/debian']);
  });

  test('the mirror is the first deb source of a Debian release with main, not security, updates or a vendor repository', () => {
    const dir = etcApt({
      'sources.list.d/a-vendor.list': 'deb https://vendor.example/apt nodistro main\n',
      'sources.list.d/b-security.sources': 'Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n',
      'sources.list.d/c-src.list': 'deb-src http://src.example/debian bookworm main\n',
      'sources.list.d/d-contrib.list': 'deb http://contrib.example/debian bookworm contrib\n',
      'sources.list.d/e-tor.list': 'deb tor+http://onion.example/debian bookworm main\n',
      'sources.list.d/f-debian.sources': 'Types: deb\nURIs: http://proxy.example:3142/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
    });
    expect(resolveMirror({}, dir)).toEqual({ mirror: 'http://proxy.example:3142/debian', from: join(dir, 'sources.list.d/f-debian.sources') });
  });

  test('E2E_DEBIAN_MIRROR overrides the apt sources', () => {
    const dir = etcApt({ 'sources.list': 'deb http://apt.example/debian trixie main\n' });
    expect(resolveMirror({ E2E_DEBIAN_MIRROR: 'http://override.example/debian' }, dir))
      .toEqual({ mirror: 'http://override.example/debian', from: 'E2E_DEBIAN_MIRROR' });
    expect(resolveMirror({}, dir).mirror).toBe('http://apt.example/debian');
  });

  test('fails when no source is a Debian archive, naming what it saw and the override', () => {
    const dir = etcApt({ 'sources.list': 'deb http://ubuntu.example/ubuntu noble main universe\n' });
    expect(() => resolveMirror({}, dir)).toThrow(/no Debian archive in the machine's apt sources \(.*sources\.list: deb http:\/\/ubuntu\.example\/ubuntu noble main,universe\); set E2E_DEBIAN_MIRROR/);
    expect(() => debianMirror([])).toThrow(/\(no apt sources at all\); set E2E_DEBIAN_MIRROR/);
  });

  test('this machine has a Debian source (the harness needs no mirror written down)', () => {
    expect(resolveMirror({}).mirror).toMatch(/^(https?|ftp|file):\/\//);
  });
});
