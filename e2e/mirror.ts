/**
 * Where debootstrap gets Debian from: the machine's own apt configuration, so the test follows
 * whatever mirror (or caching proxy in front of one) the machine already uses. No mirror host
 * is written down in this project: a machine without a Debian source fails with a clear message.
 */
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { run } from './util';

/** One `deb` source line (one-line format) or one deb822 stanza, per URI. */
export interface AptSource {
  readonly types: string[];
  readonly uri: string;
  readonly suites: string[];
  readonly components: string[];
  /** the file it came from, for messages. */
  readonly file: string;
}

/**
 * Debian's release names and aliases: a source serving one of these (not its -updates,
 * -security or -backports) is a full Debian archive that has every suite the test boots.
 * Ubuntu's names (noble, jammy, ...) are not here, so an Ubuntu mirror is not taken for Debian.
 */
const DEBIAN_SUITES = new Set([
  'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke', 'sid',
  'oldoldstable', 'oldstable', 'stable', 'testing', 'unstable',
]);

/** URI schemes debootstrap fetches from itself (apt's `mirror+`, `tor+`, `cdrom:` it cannot). */
const DEBOOTSTRAP_SCHEMES = /^(https?|ftp|file):\/\//;

/** Parses the one-line format of `sources.list` and `sources.list.d/*.list`. */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    // deb [ option=value ... ] uri suite [component ...]
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)(.*)$/.exec(line);
    if (!m) continue;
    sources.push({ types: [m[1]], uri: m[2], suites: [m[3]], components: m[4].trim().split(/\s+/).filter(Boolean), file });
  }
  return sources;
}

/** Parses deb822 `sources.list.d/*.sources` stanzas (`Types:`, `URIs:`, `Suites:`, ...). */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const sources: AptSource[] = [];
  const stanzas = text.split(/\n[ \t]*\n/);
  for (const stanza of stanzas) {
    const fields = new Map<string, string>();
    let current: string | undefined;
    for (const raw of stanza.split('\n')) {
      if (/^\s*#/.test(raw) || !raw.trim()) continue;
      if (/^\s/.test(raw) && current) {
        // a continuation line: values such as URIs or Signed-By may span several lines.
        fields.set(current, `${fields.get(current)} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (!m) continue;
      current = m[1].toLowerCase();
      fields.set(current, m[2].trim());
    }
    const list = (name: string) => (fields.get(name) ?? '').split(/\s+/).filter(Boolean);
    if (/^(no|false|0)$/i.test(fields.get('enabled') ?? '')) continue;
    for (const uri of list('uris')) {
      sources.push({ types: list('types'), uri, suites: list('suites'), components: list('components'), file });
    }
  }
  return sources;
}

/**
 * Every source apt itself reads under `etcApt` (default `/etc/apt`), in apt's order:
 * `sources.list`, then `sources.list.d/` in name order; files with other endings
 * (`.disabled`, `.save`, ...) are ignored, as apt ignores them.
 */
export function readAptSources(etcApt = '/etc/apt'): AptSource[] {
  const sources: AptSource[] = [];
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) sources.push(...parseOneLineSources(readFileSync(main, 'utf8'), main));
  const dir = join(etcApt, 'sources.list.d');
  const names = existsSync(dir) ? readdirSync(dir).sort() : [];
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.list')) sources.push(...parseOneLineSources(readFileSync(path, 'utf8'), path));
    else if (name.endsWith('.sources')) sources.push(...parseDeb822Sources(readFileSync(path, 'utf8'), path));
  }
  return sources;
}

/**
 * The first source that is a Debian archive debootstrap can use: binary packages (`deb`), the
 * `main` component, a Debian release suite, a scheme debootstrap fetches. Throws, naming what
 * was seen and the override, when there is none.
 */
export function debianMirror(sources: AptSource[]): string {
  const usable = sources.find((s) => s.types.includes('deb') && s.components.includes('main') &&
    s.suites.some((suite) => DEBIAN_SUITES.has(suite)) && DEBOOTSTRAP_SCHEMES.test(s.uri));
  if (usable) return usable.uri.replace(/\/+$/, '');
  const seen = sources.length === 0 ? 'no apt sources at all'
    : sources.map((s) => `${s.file}: ${s.types.join(',')} ${s.uri} ${s.suites.join(',')} ${s.components.join(',')}`).join('; ');
  throw new Error(`no Debian archive in the machine's apt sources (${seen}); ` +
    'set E2E_DEBIAN_MIRROR to a Debian mirror URL (one with dists/bookworm and dists/trixie)');
}

/** The mirror debootstrap uses: E2E_DEBIAN_MIRROR when set, else the machine's apt sources. */
export function resolveMirror(env: NodeJS.ProcessEnv = process.env, etcApt = '/etc/apt'): { mirror: string; from: string } {
  const override = env.E2E_DEBIAN_MIRROR?.trim();
  if (override) return { mirror: override, from: 'E2E_DEBIAN_MIRROR' };
  const sources = readAptSources(etcApt);
  const mirror = debianMirror(sources);
  return { mirror, from: sources.find((s) => s.uri.replace(/\/+$/, '') === mirror)!.file };
}

/**
 * apt's own HTTP proxy setting (`Acquire::http::Proxy`), which debootstrap does not read from
 * apt.conf but honours as `http_proxy`; undefined when apt has none or apt-config is missing.
 */
export async function aptHttpProxy(): Promise<string | undefined> {
  try {
    const r = await run('apt-config', ['shell', 'PROXY', 'Acquire::http::Proxy'], { allowFail: true });
    const m = /^PROXY='([^']*)'$/m.exec(r.stdout);
    return m && m[1] && m[1] !== 'DIRECT' ? m[1] : undefined;
  } catch {
    return undefined;
  }
}
