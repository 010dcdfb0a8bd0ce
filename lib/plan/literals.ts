// Strings from the props end up in names, tags, hostnames, paths, the client's ~/.ssh/config and
// the droplet's files.
//
// INVARIANT: every string a construct takes from its props is either one printable line (no
// control character, no line or paragraph separator) or, as a whole, one cdktf token; a token is
// never embedded in a literal. So `"/usr/bin/cloudflared\nHost *\n  ProxyCommand ..."` cannot add
// lines to the SshConfig output, and a value Terraform resolves later cannot smuggle text past
// the checks that a literal gets.
//
// It is checked here once, for every string prop at any depth, by walking the props: a new prop
// is covered without being listed. `extraCloudConfig` is its own world (file contents have
// lines; lib/user-data.ts checks it) and Access rules are checked by AccessRule.
import { Token } from 'cdktf';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const WHOLE_TOKEN = /^\$\{TfToken\[[A-Za-z0-9._:-]+\]\}$/;
// props with checks of their own, whose strings may legitimately hold more than one line.
const OWN_CHECKS = new Set(['extraCloudConfig']);

/** throws, naming the prop, unless every string in `props` keeps the invariant above. */
export function checkLiteralStrings(props: object): void {
  walk(props, '');
}

function walk(value: unknown, path: string): void {
  if (typeof value === 'string') {
    checkString(path, value);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`));
  } else if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, v] of Object.entries(value)) {
      if (OWN_CHECKS.has(key) && path === '') continue;
      walk(v, path === '' ? key : `${path}.${key}`);
    }
  }
}

function checkString(path: string, value: string): void {
  if (Token.isUnresolved(value)) {
    if (!WHOLE_TOKEN.test(value)) {
      throw new Error(
        `${path} ${JSON.stringify(value)} embeds a Terraform value in literal text, which the construct cannot check; ` +
        'pass either a literal or a whole token (e.g. a variable\'s value), not a mix',
      );
    }
    return;
  }
  const at = CONTROL.exec(value);
  if (at !== null) {
    throw new Error(
      `${path} ${JSON.stringify(value)} holds a control character (U+${at[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}) at position ${at.index}; ` +
      'it would end up in a name, tag, path or the client\'s ~/.ssh/config: pass one printable line',
    );
  }
}
