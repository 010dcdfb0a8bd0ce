// a provider-free stand-in of a synthesized stack, for the tests that run REAL terraform on the
// library's output while the provider registry is out of reach: the same graph, built from
// Terraform's built-ins only.
//
// What it keeps:
// - every managed resource becomes `terraform_data` with the same name: the arguments that force
//   replacement in the real provider (FORCE_NEW, read from the providers' schemas at the pinned
//   versions) as `triggers_replace`, every other argument as `input`, so a change to the first
//   replaces the stand-in and a change to the others updates it in place. (Not both in `input`:
//   terraform_data mirrors `input` into `output` without its sensitive marks, hashicorp/terraform
//   #35609, which would print a sensitive user_data that the real droplet never shows.)
//   `terraform_data` resources (DropletTrust, CaVersion, ...) stay exactly as they are.
// - every data source becomes `data "terraform_remote_state"` with the same name, reading a local
//   state file the test writes (`write`, `setDataOutputs`): its outputs carry the attributes the
//   configuration reads (e.g. `token`), and `defaults` carries the data source's arguments, so a
//   reference to a managed resource there still makes terraform defer the read exactly as it does
//   for the real data source (internal/terraform/transform_reference.go dataDependsOn and
//   node_resource_abstract_instance.go dependenciesHavePendingChanges).
// - every reference, inside `${...}` of any string (nested templates and function calls such as
//   jsonencode and sensitive included), in depends_on, replace_triggered_by, ignore_changes and
//   conditions (`self.`), is rewritten to the stand-in's address: `id` to the stand-in's `id`, an
//   argument to `input.<argument>` or `triggers_replace.<argument>` (known at plan whenever the
//   configured value is, as a real argument is), any other
//   (computed) attribute to the stand-in's `id` (known across an in-place update, new on
//   replacement, like an id); data source attributes to `outputs.<attribute>`.
// - lifecycle (create_before_destroy, prevent_destroy, ignore_changes, replace_triggered_by,
//   preconditions, postconditions), depends_on, count, for_each, outputs (sensitive included).
// - locals, by name, with the references inside them rewritten like any other expression: a
//   data source that reads a managed resource through a local (the token's tunnel id) keeps that
//   shape, and terraform treats it as it treats the original (a local is no managed resource, so
//   it is not one of the data source's implied dependencies).
//
// What it cannot model (say so when a test leans on it):
// - provider behaviour: API errors and conflicts (two tunnels of one name, a second CA for one
//   application), read-after-write drift, values the provider normalises (DigitalOcean stores a
//   hash of user_data), and ForceNew rules that depend on the value (droplet ipv6 true -> false,
//   tunnel config_src only when configured);
// - computed attributes that the framework-based Cloudflare provider marks unknown on every
//   in-place update (those without UseStateForUnknown): here they stay known. The ids we rely
//   on (tunnel, application, policy, route, target, DNS record) do have UseStateForUnknown in 5.14;
// - distinct values for distinct computed attributes of one resource (urn, ipv4_address_private
//   and id of a droplet are all its stand-in's id), and nested paths below a computed attribute;
// - sensitivity from provider schemas: nothing is sensitive unless the configuration says so
//   (sensitive()), or `sensitiveAttributes` names a data source attribute, which then reads through
//   sensitive() (provider 5.14 does not mark the tunnel token data source's `token`; 5.17 and later
//   do). terraform_remote_state itself ignores `sensitive` in the state file it reads;
// - provisioners and connection blocks (dropped: a test adds its own to the stand-in), providers,
//   required_providers and the backend (dropped: terraform runs with its local default), modules
//   (refused).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { terraform, terraformResult } from './terraform';

/**
 * the arguments that force replacement, per resource type, in the pinned providers: Cloudflare
 * 5.14.0 (RequiresReplace plan modifiers in internal/services/<type>/schema.go), DigitalOcean
 * 2.71.0 (ForceNew in digitalocean/<service>/resource_<type>.go), null 3.2.4 (`triggers`).
 * A type missing here is refused, so a new resource type gets a conscious entry.
 */
export const FORCE_NEW: Readonly<Record<string, readonly string[]>> = {
  cloudflare_dns_record: ['zone_id', 'type'],
  cloudflare_zero_trust_access_application: ['account_id', 'zone_id'],
  cloudflare_zero_trust_access_infrastructure_target: ['account_id'],
  cloudflare_zero_trust_access_policy: ['account_id'],
  cloudflare_zero_trust_access_short_lived_certificate: ['account_id', 'zone_id', 'app_id'],
  // config_src is RequiresReplaceIfConfigured: we always configure it.
  cloudflare_zero_trust_tunnel_cloudflared: ['account_id', 'config_src'],
  cloudflare_zero_trust_tunnel_cloudflared_config: ['account_id', 'tunnel_id'],
  cloudflare_zero_trust_tunnel_cloudflared_route: ['account_id'],
  // ipv6 true -> false also replaces (customdiff.ForceNewIfChange): not modelled.
  digitalocean_droplet: ['image', 'region', 'ssh_keys', 'user_data', 'monitoring', 'droplet_agent', 'vpc_uuid'],
  digitalocean_firewall: [],
  digitalocean_project_resources: ['project'],
  digitalocean_tag: ['name'],
  digitalocean_volume_attachment: ['droplet_id', 'volume_id'],
  null_resource: ['triggers'],
};

/** the Terraform JSON of a configuration, as cdktf writes it. */
export type TerraformJson = Record<string, any>;

/** one managed resource and its stand-in. */
export interface StandInResource {
  /** e.g. `digitalocean_droplet.Test_Droplet_207D6218`. */
  readonly original: string;
  /** e.g. `terraform_data.Test_Droplet_207D6218`. */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  /** the arguments that force replacement, as present in the configuration. */
  readonly forceNew: string[];
  /** computed attributes (not arguments) that the configuration reads, modelled by the stand-in's id. */
  readonly computedRead: Set<string>;
}

/** one data source and its stand-in. */
export interface StandInData {
  /** e.g. `data.cloudflare_zero_trust_tunnel_cloudflared_token.Test_Tunnel_Token_BABA4759`. */
  readonly original: string;
  /** e.g. `data.terraform_remote_state.Test_Tunnel_Token_BABA4759`. */
  readonly address: string;
  readonly type: string;
  readonly name: string;
  /** the state file it reads, relative to terraform's working directory. */
  readonly stateFile: string;
  /** the attributes (not arguments) the configuration reads, which the state file must carry. */
  readonly reads: Set<string>;
}

/** what a data source's state file carries: the values of the attributes it reads. */
export interface DataOutputs {
  readonly values?: Record<string, unknown>;
}

export interface StandIn {
  /** the provider-free configuration (write it as `<dir>/cdk.tf.json`). */
  readonly config: TerraformJson;
  readonly resources: StandInResource[];
  readonly dataSources: StandInData[];
  /** the stand-in address of a resource or data source of the original, e.g. `digitalocean_droplet.X`. */
  addressOf(original: string): string;
  /** the stand-in resources whose original has `type`. */
  resourcesOf(type: string): StandInResource[];
  /** the stand-in data sources whose original has `type`. */
  dataOf(type: string): StandInData[];
  /**
   * writes the configuration and every data source's state file to `dir`; `outputs` by original
   * data source address. An attribute without a value reads as "<attribute> of <name>".
   */
  write(dir: string, outputs?: Record<string, DataOutputs>): void;
  /** rewrites one data source's state file (e.g. the token of a new tunnel). */
  setDataOutputs(dir: string, original: string, outputs: DataOutputs): void;
}

/** the keys of a resource or data block that are Terraform meta-arguments, not provider arguments. */
const META = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'provisioner', 'connection']);
const STATE_DIR = 'stand-in-data';

/** how to build a stand-in. */
export interface StandInOptions {
  /** adds to or overrides {@link FORCE_NEW}, by resource type. */
  readonly forceNew?: Record<string, readonly string[]>;
  /** data source attributes the provider marks sensitive, by data source type, e.g. `{ cloudflare_zero_trust_tunnel_cloudflared_token: ['token'] }` (5.17+). */
  readonly sensitiveAttributes?: Record<string, readonly string[]>;
}

/**
 * The provider-free stand-in of `synth`, a cdk.tf.json from `Testing.synth` (or the object it
 * parses to).
 */
export function standIn(synth: string | TerraformJson, opts: StandInOptions = {}): StandIn {
  const source: TerraformJson = typeof synth === 'string' ? JSON.parse(synth) : structuredClone(synth);
  if (source.module !== undefined) throw new Error('stand-in: module calls are not supported');
  const forceNewOf = { ...FORCE_NEW, ...(opts.forceNew ?? {}) };

  const resources = new Map<string, StandInResource & { args: Set<string> }>();
  const dataSources = new Map<string, StandInData & { args: Set<string> }>();
  for (const [type, blocks] of Object.entries<Record<string, any>>(source.resource ?? {})) {
    if (type === 'terraform_data') continue;
    const forceNew = forceNewOf[type];
    if (forceNew === undefined) {
      throw new Error(`stand-in: no FORCE_NEW entry for resource type ${type}; add the arguments that replace it (the provider's schema)`);
    }
    for (const [name, block] of Object.entries(blocks)) {
      const args = new Set(Object.keys(block).filter((k) => !META.has(k) && k !== '//'));
      resources.set(`${type}.${name}`, {
        original: `${type}.${name}`, address: `terraform_data.${name}`, type, name,
        forceNew: forceNew.filter((a) => args.has(a)), computedRead: new Set(), args,
      });
    }
  }
  for (const [type, blocks] of Object.entries<Record<string, any>>(source.data ?? {})) {
    if (type === 'terraform_remote_state') throw new Error('stand-in: the configuration already has terraform_remote_state data sources');
    for (const [name, block] of Object.entries(blocks)) {
      const args = new Set(Object.keys(block).filter((k) => !META.has(k) && k !== '//'));
      dataSources.set(`data.${type}.${name}`, {
        original: `data.${type}.${name}`, address: `data.terraform_remote_state.${name}`, type, name,
        stateFile: `${STATE_DIR}/${name}.tfstate`, reads: new Set(), args,
      });
    }
  }
  const names = [...resources.values(), ...dataSources.values()].map((r) => r.address);
  const existing = Object.keys(source.resource?.terraform_data ?? {}).map((n) => `terraform_data.${n}`);
  const clash = names.find((a, i) => names.indexOf(a) !== i || existing.includes(a));
  if (clash) throw new Error(`stand-in: two blocks would become ${clash}`);

  /** rewrites one reference (data?, type, name, path) to the stand-in's; undefined when it is not ours. */
  function rewriteReference(data: boolean, type: string, name: string, path: string[]): string | undefined {
    const index = path.length && path[0].startsWith('[') ? path[0] : '';
    const rest = index ? path.slice(1) : path;
    if (data) {
      const d = dataSources.get(`data.${type}.${name}`);
      if (!d) return undefined;
      if (rest.length === 0) return `${d.address}${index}`;
      const attr = rest[0].slice(1);
      if (!d.args.has(attr)) d.reads.add(attr);
      const read = `${d.address}${index}.outputs.${attr}${rest.slice(1).join('')}`;
      return opts.sensitiveAttributes?.[type]?.includes(attr) ? `sensitive(${read})` : read;
    }
    const r = resources.get(`${type}.${name}`);
    if (!r) return undefined;
    if (rest.length === 0) return `${r.address}${index}`;
    const attr = rest[0].slice(1);
    if (attr === 'id') return `${r.address}${index}.id${rest.slice(1).join('')}`;
    if (r.args.has(attr)) return `${r.address}${index}.${r.forceNew.includes(attr) ? 'triggers_replace' : 'input'}.${attr}${rest.slice(1).join('')}`;
    r.computedRead.add(attr);
    return `${r.address}${index}.id`;
  }

  /** rewrites every reference of ours in an expression's text. */
  function rewriteExpression(text: string): string {
    return text.replace(REFERENCE, (whole, data: string | undefined, type: string, name: string, path: string) => {
      const segments = path.match(/\.[A-Za-z_][\w-]*|\[[^\]]*\]/g) ?? [];
      return rewriteReference(data !== undefined, type, name, segments) ?? whole;
    });
  }

  /** rewrites the `self.` references in a condition of a converted block. */
  function rewriteSelf(text: string, self: { args: Set<string>; forceNew: string[] } | undefined, kind: 'resource' | 'data'): string {
    if (!self) return text;
    return text.replace(/(?<![\w.])self\.([A-Za-z_][\w-]*)/g, (whole, attr: string) => {
      if (kind === 'data') return `self.outputs.${attr}`;
      if (attr === 'id') return whole;
      if (!self.args.has(attr)) return 'self.id';
      return self.forceNew.includes(attr) ? `self.triggers_replace.${attr}` : `self.input.${attr}`;
    });
  }

  /** a value with every template's interpolations rewritten (strings, arrays, object values; keys are names and stay). */
  function rewriteValue(value: any, self?: { args: Set<string>; forceNew: string[] }, kind: 'resource' | 'data' = 'resource'): any {
    if (typeof value === 'string') return mapInterpolations(value, (expr) => rewriteSelf(rewriteExpression(expr), self, kind));
    if (Array.isArray(value)) return value.map((v) => rewriteValue(v, self, kind));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).filter(([k]) => k !== '//').map(([k, v]) => [k, rewriteValue(v, self, kind)]));
    }
    return value;
  }

  /** the meta-arguments of a block, references rewritten; `self` is the converted block, if any. */
  function rewriteMeta(block: Record<string, any>, self: (StandInResource & { args: Set<string> }) | undefined, kind: 'resource' | 'data') {
    const out: Record<string, any> = {};
    if (block.count !== undefined) out.count = rewriteValue(block.count);
    if (block.for_each !== undefined) out.for_each = rewriteValue(block.for_each);
    if (block.depends_on !== undefined) out.depends_on = block.depends_on.map((d: string) => rewriteExpression(d));
    const lc = block.lifecycle;
    if (lc !== undefined) {
      const l: Record<string, any> = { ...lc };
      if (Array.isArray(lc.replace_triggered_by)) l.replace_triggered_by = lc.replace_triggered_by.map((r: string) => rewriteExpression(r));
      if (self && Array.isArray(lc.ignore_changes)) {
        l.ignore_changes = lc.ignore_changes.flatMap((path: string) => {
          const attr = path.split(/[.[]/)[0];
          const rest = path.slice(attr.length);
          return [`${self.forceNew.includes(attr) ? 'triggers_replace' : 'input'}.${attr}${rest}`];
        });
      }
      for (const c of ['precondition', 'postcondition']) {
        if (lc[c] !== undefined) l[c] = rewriteValue(lc[c], kind === 'data' ? { args: new Set(), forceNew: [] } : self, kind);
      }
      out.lifecycle = l;
    }
    return out;
  }

  const config: TerraformJson = {};
  for (const [key, value] of Object.entries(source)) {
    if (['resource', 'data', 'provider', 'terraform', '//'].includes(key)) continue;
    // variables hold no expressions; locals, outputs (and anything else) are expressions.
    config[key] = key === 'variable' ? value : rewriteValue(value);
  }
  for (const o of Object.values<any>(config.output ?? {})) {
    if (Array.isArray(o.depends_on)) o.depends_on = o.depends_on.map((d: string) => rewriteExpression(d));
  }
  const td: Record<string, any> = {};
  for (const [name, block] of Object.entries<any>(source.resource?.terraform_data ?? {})) {
    td[name] = { ...rewriteValue(Object.fromEntries(Object.entries(block).filter(([k]) => !META.has(k)))), ...rewriteMeta(block, undefined, 'resource') };
    for (const k of ['provisioner', 'connection']) if (block[k] !== undefined) td[name][k] = block[k];
  }
  for (const r of resources.values()) {
    const block = source.resource[r.type][r.name];
    const args = rewriteValue(Object.fromEntries([...r.args].map((a) => [a, block[a]])));
    const stand: Record<string, any> = {};
    const inPlace = [...r.args].filter((a) => !r.forceNew.includes(a));
    if (inPlace.length) stand.input = Object.fromEntries(inPlace.map((a) => [a, args[a]]));
    if (r.forceNew.length) stand.triggers_replace = Object.fromEntries(r.forceNew.map((a) => [a, args[a]]));
    td[r.name] = { ...stand, ...rewriteMeta(block, r, 'resource') };
  }
  const remote: Record<string, any> = {};
  for (const d of dataSources.values()) {
    const block = source.data[d.type][d.name];
    const defaults = rewriteValue(Object.fromEntries([...d.args].map((a) => [a, block[a]])));
    remote[d.name] = {
      backend: 'local', config: { path: d.stateFile }, ...(d.args.size ? { defaults } : {}),
      ...rewriteMeta(block, undefined, 'data'),
    };
  }
  if (Object.keys(td).length) config.resource = { terraform_data: td };
  if (Object.keys(remote).length) config.data = { terraform_remote_state: remote };

  const all = new Map<string, string>([...[...resources.values()].map((r) => [r.original, r.address] as const), ...[...dataSources.values()].map((d) => [d.original, d.address] as const)]);
  const plainResources = [...resources.values()];
  const plainData = [...dataSources.values()];
  const self: StandIn = {
    config,
    resources: plainResources,
    dataSources: plainData,
    addressOf: (original) => {
      const a = all.get(original) ?? (original.startsWith('terraform_data.') ? original : undefined);
      if (a === undefined) throw new Error(`stand-in: ${original} is not in the configuration`);
      return a;
    },
    resourcesOf: (type) => plainResources.filter((r) => r.type === type),
    dataOf: (type) => plainData.filter((d) => d.type === type),
    write: (dir, outputs = {}) => {
      writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(config, null, 2));
      for (const d of plainData) self.setDataOutputs(dir, d.original, outputs[d.original] ?? {});
    },
    setDataOutputs: (dir, original, outputs) => {
      const d = plainData.find((x) => x.original === original);
      if (!d) throw new Error(`stand-in: no data source ${original}`);
      const values: Record<string, unknown> = Object.fromEntries([...d.reads].map((a) => [a, DATA_DEFAULTS[d.type]?.[a] ?? `${a} of ${d.name}`]));
      Object.assign(values, outputs.values ?? {});
      mkdirSync(join(dir, STATE_DIR), { recursive: true });
      writeFileSync(join(dir, d.stateFile), JSON.stringify(stateFile(values), null, 2));
    },
  };
  return self;
}

/**
 * What a data source's attribute reads as when a test does not say, where "<attribute> of <name>"
 * would fail a check the configuration makes on it: the organization's auth domain must be
 * <team>.cloudflareaccess.com (the postcondition on the library's organization read).
 */
const DATA_DEFAULTS: Record<string, Record<string, string>> = {
  cloudflare_zero_trust_organization: { auth_domain: 'standin.cloudflareaccess.com' },
};

// (data.)?type.name followed by attribute and index segments; only addresses of the
// configuration are rewritten, anything else (functions, locals, var.) is left alone.
const REFERENCE = /(?<![\w.])(data\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*|\[[^\]]*\])*)/g;

/** a state file (format 4) with only root outputs, as terraform_remote_state reads it. */
function stateFile(values: Record<string, unknown>) {
  const typeOf = (v: unknown): unknown => {
    if (typeof v === 'string') return 'string';
    if (typeof v === 'number') return 'number';
    if (typeof v === 'boolean') return 'bool';
    throw new Error(`stand-in: data outputs must be strings, numbers or booleans, got ${JSON.stringify(v)}`);
  };
  return {
    version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'cdktf-access-droplet-stand-in',
    outputs: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, type: typeOf(v) }])),
    resources: [],
  };
}

/**
 * `text` (a Terraform JSON string, i.e. a template) with the expression inside each `${...}` and
 * `%{...}` passed through `fn`; `$${` and `%%{` are literal text and stay as they are.
 */
export function mapInterpolations(text: string, fn: (expression: string) => string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    if ((text.startsWith('$${', i) || text.startsWith('%%{', i))) {
      out += text.slice(i, i + 3);
      i += 3;
      continue;
    }
    if (text.startsWith('${', i) || text.startsWith('%{', i)) {
      const end = expressionEnd(text, i + 2);
      out += text.slice(i, i + 2) + fn(text.slice(i + 2, end)) + '}';
      i = end + 1;
      continue;
    }
    out += text[i];
    i++;
  }
  return out;
}

/** the index of the `}` that closes an expression starting at `start` (after `${`). */
function expressionEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = stringEnd(text, i + 1) + 1;
      continue;
    }
    if (c === '{') depth++;
    if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
    i++;
  }
  throw new Error(`stand-in: unterminated interpolation in ${JSON.stringify(text.slice(0, 200))}`);
}

/** the index of the `"` that closes a quoted template starting at `start` (after the `"`). */
function stringEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      i += 2;
      continue;
    }
    if (text.startsWith('$${', i) || text.startsWith('%%{', i)) {
      i += 3;
      continue;
    }
    if (text.startsWith('${', i) || text.startsWith('%{', i)) {
      i = expressionEnd(text, i + 2) + 1;
      continue;
    }
    if (c === '"') return i;
    i++;
  }
  throw new Error(`stand-in: unterminated string in ${JSON.stringify(text.slice(0, 200))}`);
}

// running terraform on a stand-in (needs NEEDS.terraform).

/** one planned change, from `terraform show -json` of a saved plan. */
export interface PlannedChange {
  readonly address: string;
  /** e.g. ["update"], ["delete", "create"], ["create", "delete"] (create_before_destroy), ["read"]. */
  readonly actions: string[];
  /** e.g. "replace_because_cannot_update", "replace_by_triggers", "read_because_dependency_pending". */
  readonly reason?: string;
  readonly after: any;
}

export interface Plan {
  /** the plan as `terraform plan` prints it (no colour). */
  readonly text: string;
  /** every resource and data source change, no-ops included, by address. */
  readonly changes: Map<string, PlannedChange>;
  /** the actions of `address` joined with "," ("no-op" when unchanged, "" when absent). */
  actions(address: string): string;
}

/** `terraform init` of built-ins only: fast, no registry. */
export function tfInit(dir: string): void {
  terraform(dir, ['init', '-input=false', '-no-color']);
}

/** plans (extra `args`, e.g. -replace=...), throws when terraform fails; see {@link tfPlanResult}. */
export function tfPlan(dir: string, args: string[] = []): Plan {
  const r = tfPlanResult(dir, args);
  if (r.status !== 0 && r.status !== 2) throw new Error(`terraform plan exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.plan!;
}

/** plans with -detailed-exitcode: status 0 no changes, 1 error (plan undefined), 2 changes. */
export function tfPlanResult(dir: string, args: string[] = []): { status: number | null; stdout: string; stderr: string; plan?: Plan } {
  const r = terraformResult(dir, ['plan', '-input=false', '-no-color', '-detailed-exitcode', '-out=stand-in.plan', ...args]);
  if (r.status !== 0 && r.status !== 2) return r;
  const json = JSON.parse(terraform(dir, ['show', '-json', 'stand-in.plan']));
  const changes = new Map<string, PlannedChange>();
  for (const c of json.resource_changes ?? []) {
    changes.set(c.address, { address: c.address, actions: c.change.actions, reason: c.action_reason, after: c.change.after });
  }
  return {
    ...r,
    plan: { text: r.stdout, changes, actions: (a) => changes.get(a)?.actions.join(',') ?? '' },
  };
}

/** one line of `terraform apply -json` about a resource. */
export interface ApplyEvent {
  /** apply_start, apply_complete, apply_errored, provision_errored, ... */
  readonly type: string;
  readonly address: string;
  /** create, update, delete, ... */
  readonly action?: string;
  readonly message: string;
}

/** applies (extra `args`); returns the resource events in order, and whether it succeeded. */
export function tfApply(dir: string, args: string[] = []): { ok: boolean; events: ApplyEvent[]; diagnostics: string[]; output: string } {
  const r = terraformResult(dir, ['apply', '-auto-approve', '-input=false', '-json', ...args]);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return {
    ok: r.status === 0,
    events: lines.filter((l) => l.hook?.resource?.addr).map((l) => ({ type: l.type, address: l.hook.resource.addr, action: l.hook.action, message: l['@message'] })),
    diagnostics: lines.filter((l) => l.type === 'diagnostic').map((l) => `${l.diagnostic.summary}: ${l.diagnostic.detail ?? ''}`),
    output: `${r.stdout}\n${r.stderr}`,
  };
}

/** applies and throws unless it succeeds. */
export function tfApplyOk(dir: string, args: string[] = []): ApplyEvent[] {
  const r = tfApply(dir, args);
  if (!r.ok) throw new Error(`terraform apply failed:\n${r.diagnostics.join('\n')}\n${r.output.slice(-4000)}`);
  return r.events;
}

/** the current state's resource instances (no index, no module), by address. */
export function tfState(dir: string): Map<string, { id: string; attributes: any }> {
  const path = join(dir, 'terraform.tfstate');
  const out = new Map<string, { id: string; attributes: any }>();
  if (!existsSync(path)) return out;
  const state = JSON.parse(readFileSync(path, 'utf8'));
  for (const r of state.resources) {
    const address = `${r.mode === 'data' ? 'data.' : ''}${r.type}.${r.name}`;
    const current = r.instances.find((i: any) => i.deposed === undefined);
    if (current) out.set(address, { id: current.attributes.id, attributes: current.attributes });
  }
  return out;
}
