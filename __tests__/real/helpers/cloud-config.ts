// the rendered cloud-config, and cloud-init's own modules run on it on this machine.
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'yaml';
import { RunResult, TOOLS, cloudInitPython, runAsync, runOk } from './process';

export interface WriteFileEntry {
  readonly path: string;
  readonly owner?: string;
  readonly permissions?: string;
  readonly content?: string;
  readonly [key: string]: unknown;
}

export interface CloudConfig {
  /** always empty: accounts come from the droplet's tags (cloud-init/accounts). */
  readonly users: unknown[];
  readonly write_files: WriteFileEntry[];
  readonly runcmd: unknown[];
  readonly ssh_pwauth: boolean;
  readonly [key: string]: unknown;
}

/** Parses user data the way cloud-init does: `#cloud-config` first, then one YAML mapping. */
export function parseCloudConfig(text: string): CloudConfig {
  if (!text.startsWith('#cloud-config\n')) throw new Error(`user data does not start with "#cloud-config": ${text.slice(0, 40)}`);
  const doc: unknown = parse(text);
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('user data is not a YAML mapping');
  return doc as CloudConfig;
}

/** The one write_files entry for `path`. */
export function writeFileEntry(cfg: CloudConfig, path: string): WriteFileEntry {
  const found = cfg.write_files.filter((f) => f.path === path);
  if (found.length !== 1) {
    throw new Error(`expected one write_files entry for ${path}, found ${found.length}: ${cfg.write_files.map((f) => f.path).join(', ')}`);
  }
  return found[0];
}

/** Runs `cloud-init schema -c` on `text`. */
export function cloudInitSchema(text: string, dir: string, name = 'user-data'): Promise<RunResult> {
  const file = join(dir, name);
  writeFileSync(file, text);
  return runAsync(TOOLS.cloudInit, ['schema', '-c', file]);
}

/**
 * cloud-init 22.3 to 23.1 (Debian 12 ships 22.4.2) give `users` a `minItems: 1` in their schema,
 * so `cloud-init schema` refuses `users: []`, the documented way to create no default user, which
 * their users_groups module has always read as "no users" (canonical/cloud-init#4055; the schema
 * was fixed in 23.2 by canonical/cloud-init#2124). At boot it is a logged warning, not an error.
 * This is the one complaint such a cloud-init makes about an otherwise valid document.
 */
export const EMPTY_USERS_SCHEMA_BUG = 'Cloud config schema errors: users: [] is too short';

/**
 * Whether `cloud-init schema -c` accepted the document, or refused it only for `users: []` (see
 * {@link EMPTY_USERS_SCHEMA_BUG}).
 */
export function schemaAccepts(r: RunResult): boolean {
  if (r.status === 0 && r.stderr === '' && /^Valid cloud-config: /.test(r.stdout)) return true;
  return r.status === 1 && r.stderr === `Error:\n${EMPTY_USERS_SCHEMA_BUG}\n` && /^(Cloud config schema deprecations: \n)?$/.test(r.stdout);
}

// `cloud-init schema -c FILE` for many files in one interpreter: the subcommand's own parser and
// handler, called once per file (one CLI run costs ~0.4 s, most of it importing cloud-init), once
// with the installed schema and once with the schema as cloud-init 23.2 fixed it (no minItems on
// `users`, see EMPTY_USERS_SCHEMA_BUG).
const SCHEMA_MANY = `
import contextlib, copy, io, json, sys
import cloudinit.config.schema as schema
stock = schema.get_schema
def fixed():
    s = copy.deepcopy(stock())
    for d in s['$defs'].values():
        users = d.get('properties', {}).get('users')
        if users is not None:
            users.pop('minItems', None)
    return s
def check(path):
    out, err, status = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            schema.handle_schema_args('schema', schema.get_parser().parse_args(['-c', path]))
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
    valid = status == 0 and err.getvalue() == '' and out.getvalue() == 'Valid cloud-config: %s\\n' % path
    return valid, out.getvalue() + err.getvalue()
results = []
for path in sys.argv[1:]:
    schema.get_schema = stock
    stock_valid, stock_output = check(path)
    schema.get_schema = fixed
    valid, output = check(path)
    results.append({'path': path, 'stockValid': stock_valid, 'stockOutput': stock_output, 'fixedValid': valid, 'output': output})
print(json.dumps(results))
`;

export interface SchemaResult {
  readonly path: string;
  /**
   * valid for cloud-init 23.2 and later, and, for the installed one, valid or refused only for
   * `users: []` (see {@link EMPTY_USERS_SCHEMA_BUG}).
   */
  readonly valid: boolean;
  /** what the schema as fixed in 23.2 says. */
  readonly output: string;
  /** what the installed cloud-init's own schema says. */
  readonly stockOutput: string;
  readonly stockValid: boolean;
}

/** Validates each text as `cloud-init schema -c` would, in one process. */
export function cloudInitSchemaMany(texts: string[], dir: string): SchemaResult[] {
  const script = join(dir, 'schema-many.py');
  writeFileSync(script, SCHEMA_MANY);
  const files = texts.map((t, i) => {
    const f = join(dir, `user-data-${i}`);
    writeFileSync(f, t);
    return f;
  });
  const raw = JSON.parse(runOk(cloudInitPython(), [script, ...files], { timeoutMs: 120000 }).stdout) as
    { path: string; stockValid: boolean; stockOutput: string; fixedValid: boolean; output: string }[];
  return raw.map((r) => ({
    path: r.path,
    valid: r.fixedValid && (r.stockValid || r.stockOutput === `Error:\n${EMPTY_USERS_SCHEMA_BUG}\n` || r.stockOutput === `Cloud config schema deprecations: \nError:\n${EMPTY_USERS_SCHEMA_BUG}\n`),
    output: r.output,
    stockOutput: r.stockOutput,
    stockValid: r.stockValid,
  }));
}

/** Every top-level key the installed cloud-init's schema defines (one per cloud-config module setting). */
export function cloudInitTopLevelKeys(): Set<string> {
  const script = [
    'import json',
    'from cloudinit.config.schema import get_schema',
    's = get_schema()',
    'keys = set()',
    "for item in s['allOf']:",
    "    keys |= set(s['$defs'][item['$ref'].split('/')[-1]].get('properties', {}))",
    'print(json.dumps(sorted(keys)))',
  ].join('\n');
  return new Set(JSON.parse(runOk(cloudInitPython(), ['-c', script]).stdout) as string[]);
}

// cloud-init's own modules, run on this machine

// cloud-init's write_files writer, with every path moved under a root directory of the test's.
const WRITE_FILES_MODULE = `
import os, sys, yaml
from cloudinit.config import cc_write_files
cfg = yaml.safe_load(open(sys.argv[1]))
root = sys.argv[2]
files = [dict(f, path=os.path.join(root, f['path'].lstrip('/'))) for f in cfg['write_files']]
cc_write_files.write_files('write_files', files, 'root:root')
`;

// cloud-init's own user-data processing: MIME parts, then the cloud-config part handler, which
// merges every part with its merge_how into the one config the modules see.
const MERGE_PARTS_MODULE = `
import sys
from cloudinit import helpers, user_data
from cloudinit.handlers.cloud_config import CloudConfigPartHandler
message = user_data.UserDataProcessor({}).process(open(sys.argv[1], 'rb').read())
paths = helpers.Paths({'cloud_dir': sys.argv[2]})
paths.get_ipath = lambda *a: sys.argv[3]
handler = CloudConfigPartHandler(paths)
handler.handle_part(None, '__begin__', None, None, None, None)
for part in message.walk():
    if part.get_content_maintype() == 'multipart':
        continue
    handler.handle_part(None, part.get_content_type(), part.get_filename(), part.get_payload(decode=True).decode(), 3, dict(part.items()))
handler.handle_part(None, '__end__', None, None, None, None)
`;

/** The cloud-config cloud-init makes of `userData` (a MIME multipart or one #cloud-config). */
export function mergeWithCloudInit(userData: string, dir: string): string {
  const input = join(dir, 'merge-user-data');
  const script = join(dir, 'merge-module.py');
  const output = join(dir, 'merged-cloud-config.txt');
  writeFileSync(input, userData);
  writeFileSync(script, MERGE_PARTS_MODULE);
  runOk(cloudInitPython(), [script, input, join(dir, 'cloud'), output]);
  return readFileSync(output, 'utf8');
}

/** Writes the cloud-config's write_files with cloud-init's own writer, below `root`. */
export function writeFilesWithCloudInit(text: string, dir: string, root: string): void {
  const userData = join(dir, 'write-files-user-data');
  const script = join(dir, 'write-files-module.py');
  writeFileSync(userData, text);
  writeFileSync(script, WRITE_FILES_MODULE);
  runOk(cloudInitPython(), [script, userData, root]);
}
