// Terraform never interpolates a value we meant literally: every config the constructs write
// passes through one function (lib/internal/escape.ts `literal`), and real terraform shows it.
// Nothing here is a list to keep up to date by hand:
// - the block types come from the library's own code: every provider class, DataResource,
//   TerraformLocal and TerraformOutput that the constructs' source files (lib/access-droplet.ts,
//   lib/access-droplet-fleet.ts and what they import) instantiate; the synthesized corpus must
//   write exactly those;
// - the props come from the props types themselves (the TypeScript compiler walks
//   AccessDropletProps and AccessDropletFleetProps, nested users and hosts included): every
//   string, Access rule and free-form object in them gets hostile template text (printable: the
//   constructs refuse control characters), in both constructs and both modes. A prop either
//   refuses it at synth, or the text reaches Terraform and comes back from `terraform apply`
//   exactly as given: an unescaped `${var.x}` makes terraform fail on an undeclared variable, an
//   unescaped `%{if}` on a template directive, a doubled escape shows as a changed value.
import { readFileSync, writeFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import * as ts from 'typescript';
import { Testing, TerraformStack } from 'cdktf';
import * as cdktf from 'cdktf';
import { Construct } from 'constructs';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { AccessDroplet, AccessDropletFleet, AccessMode, AccessRule } from '../../lib';
import { CA_KEY, fleetProps, minimalProps } from '../fixtures';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, ROOT, terraform } from './helpers';

const LIB = join(ROOT, 'lib');
const CONSTRUCT_FILES = [join(LIB, 'access-droplet.ts'), join(LIB, 'access-droplet-fleet.ts')];

// ---------------------------------------------------------------------------------------------
// the block types the constructs write, read from their source

/** the constructs' source files and every file of lib/ they import, transitively. */
function constructSources(): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
      visit(`${resolve(dirname(file), m[1])}.ts`);
    }
  };
  CONSTRUCT_FILES.forEach(visit);
  return [...seen].sort();
}

/** what a class the constructs instantiate writes into the synthesized JSON. */
function blockOf(cls: any, name: string): string | undefined {
  const is = (base: any) => cls === base || cls.prototype instanceof base;
  if (is(cdktf.TerraformDataSource)) return `data.${cls.tfResourceType}`;
  if (is(cdktf.TerraformResource)) return `resource.${cls.tfResourceType}`;
  if (is(cdktf.TerraformLocal)) return 'locals';
  if (is(cdktf.TerraformOutput)) return 'output';
  if (is(cdktf.TerraformBackend)) return 'terraform.backend';
  // scopes and files, no block of their own.
  if (is(Construct) && !is(cdktf.TerraformElement)) return undefined;
  if (is(cdktf.TerraformAsset)) return undefined;
  throw new Error(`the constructs instantiate ${name}, which this test cannot classify: say what block it writes`);
}

/** every block the constructs' code can write: `new X(...)` for each X imported from a package. */
function blocksInSource(): { blocks: Set<string>; classes: string[] } {
  const blocks = new Set<string>();
  const classes: string[] = [];
  for (const file of constructSources()) {
    const text = readFileSync(file, 'utf8');
    const imported = new Map<string, { module: string; name: string }>();
    for (const m of text.matchAll(/^import\s*\{([^}]*)\}\s*from\s*'([^.'][^']*)'/gm)) {
      for (const part of m[1].split(',').map((p) => p.trim()).filter((p) => p)) {
        const [name, alias] = part.split(/\s+as\s+/);
        imported.set(alias ?? name, { module: m[2], name });
      }
    }
    for (const m of text.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*)\s*\(/g)) {
      const from = imported.get(m[1]);
      if (from === undefined) continue; // declared in lib/ (followed above) or a global (Map, Error).
      const cls = require(from.module)[from.name];
      classes.push(`${from.module}:${from.name}`);
      const block = blockOf(cls, from.name);
      if (block !== undefined) blocks.add(block);
    }
  }
  return { blocks, classes: [...new Set(classes)].sort() };
}

// ---------------------------------------------------------------------------------------------
// the props, read from their types

/** one place in the props that takes text: a string, an Access rule, or a free-form object. */
interface Leaf {
  /** keys, with `[]` for an array element and `[]:Type` for an element that is an object of that type. */
  readonly path: string[];
  readonly kind: 'string' | 'rule' | 'any-record' | 'string-record';
}

function propsLeaves(typeName: string): Leaf[] {
  const program = ts.createProgram([join(LIB, 'index.ts')], {
    target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, strict: true, skipLibCheck: true, noEmit: true, types: ['node'],
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(join(LIB, 'index.ts'))!)!;
  let symbol = checker.getExportsOfModule(moduleSymbol).find((s) => s.name === typeName)!;
  if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
  const leaves: Leaf[] = [];
  const walk = (type: ts.Type, path: string[], depth: number) => {
    if (depth > 6) throw new Error(`props nest deeper than expected at ${path.join('.')}`);
    for (const prop of checker.getPropertiesOfType(type)) {
      const decl = prop.valueDeclaration ?? prop.declarations![0];
      visit(checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(prop, decl)), [...path, prop.name], depth);
    }
  };
  const visit = (type: ts.Type, path: string[], depth: number) => {
    if (type.isUnion() && !(type.flags & ts.TypeFlags.Boolean) && !(type.flags & ts.TypeFlags.EnumLiteral)) {
      for (const t of type.types) visit(t, path, depth);
      return;
    }
    // enums, booleans and numbers hold no text of the user's.
    if (type.flags & (ts.TypeFlags.EnumLike | ts.TypeFlags.BooleanLike | ts.TypeFlags.NumberLike | ts.TypeFlags.StringLiteral | ts.TypeFlags.Undefined)) return;
    if (type.flags & ts.TypeFlags.String) {
      leaves.push({ path, kind: 'string' });
      return;
    }
    if (checker.isArrayType(type)) {
      const element = checker.getNonNullableType(checker.getTypeArguments(type as ts.TypeReference)[0]);
      const members = element.isUnion() ? element.types : [element];
      for (const m of members) {
        if (m.flags & ts.TypeFlags.Object && !checker.isArrayType(m) && m.getSymbol()?.name !== 'AccessRule') {
          walk(m, [...path, `[]:${m.getSymbol()!.name}`], depth + 1);
        } else {
          visit(m, [...path, '[]'], depth + 1);
        }
      }
      return;
    }
    if (type.getSymbol()?.name === 'AccessRule') {
      leaves.push({ path, kind: 'rule' });
      return;
    }
    const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
    if (index !== undefined) {
      leaves.push({ path, kind: index.type.flags & ts.TypeFlags.Any ? 'any-record' : 'string-record' });
      return;
    }
    if (type.flags & ts.TypeFlags.Object) {
      walk(type, path, depth + 1);
      return;
    }
    throw new Error(`${path.join('.')} has a type this test does not know: ${checker.typeToString(type)}`);
  };
  walk(checker.getDeclaredTypeOfSymbol(symbol), [], 0);
  return leaves;
}

// ---------------------------------------------------------------------------------------------
// hostile text

/** the part every hostile value ends with: a variable reference and a template directive, then the variant's marker. */
const core = (marker: string) => `\${var.x}%{if}y%{endif}${marker}`;

interface Candidate {
  readonly value: unknown;
  /** the text that must come back from terraform as given. */
  readonly text: string;
}

/** values for a leaf, most hostile first; a prop takes the first it accepts. */
function candidates(leaf: Leaf, marker: string, n: number): Candidate[] {
  const c = core(marker);
  const texts = [
    `App \${var.x} %{ if true }y%{ endif } "q" \\ ${c}`, // free text, with spaces, a quote and a backslash
    `a${c}`,
    `a${c}@corp.com`, // an email (local parts may hold $ { } %)
    `/opt/a${c}/cloudflared`, // an absolute path
    `w{index}-a${c}.widgetcorp.tech`, // a host name or pattern
  ];
  switch (leaf.kind) {
    case 'string':
      return texts.map((t) => ({ value: t, text: t }));
    case 'rule':
      return [
        { value: AccessRule.email(`a${c}@corp.com`), text: `a${c}@corp.com` },
        { value: AccessRule.raw({ githubOrganization: { identityProviderId: 'idp123', name: `a${c}` } }), text: `a${c}` },
      ];
    case 'any-record':
      // extraCloudConfig: a file's content may hold anything printable.
      return [{ value: { write_files: [{ path: `/opt/app/f${n}`, content: texts[0] }] }, text: texts[0] }];
    case 'string-record':
      // unixNames: a map from a listed email (every shape lists this one) to a Unix name.
      return texts.map((t) => ({ value: { 'srhea@cloudflare.com': t }, text: t }));
  }
}

/** a valid element for an array of objects, to carry one hostile field. */
function baseItem(type: string, n: number): Record<string, unknown> {
  switch (type) {
    case 'AccessUser': return { email: `b${n}@corp.com`, unixName: `bu${n}` };
    case 'FleetHost': return { hostname: `extra-${n}.widgetcorp.tech` };
    default: throw new Error(`give the test a valid ${type} to put hostile text in`);
  }
}

/** `props` with `value` at `path` (array elements appended to what is there). */
function withLeaf(props: Record<string, unknown>, path: string[], value: unknown, n: number): Record<string, unknown> {
  const [head, next, ...rest] = path;
  const out = { ...props };
  if (next === undefined) {
    out[head] = value;
  } else if (next === '[]') {
    out[head] = [...((props[head] as unknown[]) ?? []), value];
  } else if (next.startsWith('[]:')) {
    const item = rest.length === 0 ? value : withLeaf(baseItem(next.slice(3), n), rest, value, n);
    out[head] = [...((props[head] as unknown[]) ?? []), item];
  } else {
    out[head] = withLeaf((props[head] as Record<string, unknown>) ?? {}, [next, ...rest], value, n);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the shapes: both constructs, both modes, with everything on that writes a block of its own

const PROJECT = { projectId: 'proj123', waitForReady: true, userDataCausesReplacement: false };
const SHAPES: {
  name: string; build: (scope: Construct, props: any) => void; props: Record<string, unknown>;
  /** props to try a leaf on when the shape's own exclude it (a fleet's hostnamePattern needs count instead of hosts). */
  alternative?: Record<string, unknown>;
}[] = [
  {
    name: 'AccessDroplet self-hosted',
    build: (s, p) => new AccessDroplet(s, 'Droplet', p),
    props: { ...minimalProps, zoneName: 'widgetcorp.tech', ...PROJECT, accessCaVersion: '1' },
  },
  {
    name: 'AccessDroplet infrastructure',
    build: (s, p) => new AccessDroplet(s, 'Droplet', p),
    props: { ...minimalProps, zoneId: undefined, hostname: 'bastion.widgetcorp.tech', mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY, ...PROJECT },
  },
  {
    name: 'AccessDropletFleet self-hosted',
    build: (s, p) => new AccessDropletFleet(s, 'Fleet', p),
    props: { ...fleetProps, ...PROJECT, accessCaVersion: '1' },
    alternative: { ...fleetProps, hosts: undefined, count: 2, hostnamePattern: 'web-{index}.widgetcorp.tech', ...PROJECT, accessCaVersion: '1' },
  },
  {
    name: 'AccessDropletFleet infrastructure',
    build: (s, p) => new AccessDropletFleet(s, 'Fleet', p),
    props: { ...fleetProps, zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY, ...PROJECT },
    alternative: {
      ...fleetProps, hosts: undefined, count: 2, hostnamePattern: 'web-{index}.widgetcorp.tech', zoneId: undefined, mode: AccessMode.INFRASTRUCTURE,
      infrastructureCaPublicKey: CA_KEY, ...PROJECT,
    },
  },
];

/** the synthesized JSON of one construct with `props` in a stack of its own (validations run). */
function synth(build: (scope: Construct, props: any) => void, props: Record<string, unknown>): any {
  const stack = new TerraformStack(Testing.app(), 'stack');
  new CloudflareProvider(stack, 'cloudflare');
  new DigitaloceanProvider(stack, 'digitalocean');
  new NullProvider(stack, 'null');
  build(stack, props);
  return JSON.parse(Testing.synth(stack, true));
}

interface Variant {
  readonly shape: string;
  readonly leaf: string;
  readonly marker: string;
  /** the candidate taken, or undefined when every one was refused. */
  readonly taken?: Candidate;
  readonly refusal?: string;
  readonly json?: any;
}

/** every leaf of every shape, with the first hostile value it accepts. */
function variants(): Variant[] {
  const leaves = { AccessDroplet: propsLeaves('AccessDropletProps'), AccessDropletFleet: propsLeaves('AccessDropletFleetProps') };
  const out: Variant[] = [];
  for (const shape of SHAPES) {
    for (const leaf of leaves[shape.name.split(' ')[0] as keyof typeof leaves]) {
      const n = out.length;
      const marker = `m${n}z`;
      // the reason given: the last one that names the hostile value (the most plausible shape), if any does.
      const refusals: string[] = [];
      let variant: Variant | undefined;
      tries: for (const props of [shape.props, ...(shape.alternative ? [shape.alternative] : [])]) {
        for (const c of candidates(leaf, marker, n)) {
          try {
            variant = { shape: shape.name, leaf: leaf.path.join('.'), marker, taken: c, json: synth(shape.build, withLeaf(props, leaf.path, c.value, n)) };
            break tries;
          } catch (e) {
            refusals.push((e as Error).message.split('\n')[0]);
          }
        }
      }
      const refusal = [...refusals].reverse().find((r) => r.includes(marker)) ?? refusals[0];
      out.push(variant ?? { shape: shape.name, leaf: leaf.path.join('.'), marker, refusal });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

// references to our other resources and locals become one declared variable; nothing else may
// look like an expression.
// a local's element too (user_data reads the cloud-config's text as local.X_CloudConfig_ID[i]),
// and self (the organization's postcondition reads self.auth_domain).
const REFERENCE = /(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z][\w-]*_[0-9A-F]{8}\.[a-z0-9_]+|local\.[A-Za-z][\w-]*_[0-9A-F]{8}(?:\[\d+\])?|\bself\.[a-z0-9_]+/g;

/** every block of a synthesized stack: [kind.type (or locals/output), name, config]. */
function blocksOf(json: any): [string, string, unknown][] {
  const found: [string, string, unknown][] = [];
  for (const kind of ['resource', 'data']) {
    for (const [type, items] of Object.entries(json[kind] ?? {})) {
      for (const [name, config] of Object.entries(items as object)) found.push([`${kind}.${type}`, name, config]);
    }
  }
  for (const [name, value] of Object.entries(json.locals ?? {})) found.push(['locals', name, value]);
  for (const [name, config] of Object.entries(json.output ?? {})) found.push(['output', name, config]);
  return found;
}

function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

describeReal('every literal, resolved by terraform', [NEEDS.terraform], () => {
  let expected: { blocks: Set<string>; classes: string[] };
  let corpusTypes: string[];
  let all: Variant[];
  let resolved: Record<string, unknown>;

  beforeAll(() => {
    expected = blocksInSource();
    all = variants();
    const dir = makeTempDir('tf-literal');
    const outputs: Record<string, { value: unknown; sensitive: boolean }> = {};
    const add = (prefix: string, json: any, only?: string) => {
      for (const [type, name, config] of blocksOf(json)) {
        const text = JSON.stringify(config);
        if (only !== undefined && !text.includes(only)) continue;
        // the token flows as sensitive(): an output that shows it must say so.
        outputs[`${prefix}--${type}--${name}`.replace(/[^\w-]/g, '_')] = { value: JSON.parse(text.replace(REFERENCE, 'var.ref')), sensitive: true };
      }
    };
    // the shapes themselves (every block type), then each hostile variant's blocks that hold its text.
    corpusTypes = [];
    SHAPES.forEach((shape, i) => {
      const json = synth(shape.build, shape.props);
      corpusTypes.push(...blocksOf(json).map(([type]) => type));
      add(`shape${i}`, json);
    });
    for (const v of all) if (v.json !== undefined) add(v.marker, v.json, v.marker);
    writeFileSync(join(dir, 'main.tf.json'), JSON.stringify({ variable: { ref: { type: 'string', default: 'REF' } }, output: outputs }));
    terraform(dir, ['init', '-input=false', '-no-color']);
    terraform(dir, ['apply', '-auto-approve', '-input=false', '-no-color']);
    const json = JSON.parse(terraform(dir, ['output', '-json']));
    resolved = Object.fromEntries(Object.entries(json).map(([k, v]: [string, any]) => [k, v.value]));
  }, 600000);

  afterAll(() => removeTempDirs());

  test('the constructs\' code instantiates providers\' classes and cdktf\'s, read from the source', () => {
    // the walk found the build code, not an empty set.
    expect(expected.classes).toEqual(expect.arrayContaining(['@cdktf/provider-digitalocean/lib/droplet:Droplet', 'cdktf:DataResource', 'cdktf:TerraformLocal']));
    expect(expected.blocks.size).toBeGreaterThanOrEqual(15);
  });

  test('the corpus writes exactly the block types the constructs\' code can write, locals and outputs included', () => {
    expect([...new Set(corpusTypes)].sort()).toEqual([...expected.blocks].sort());
  });

  test('every prop took hostile text or refused it at synth; props that refuse are named', () => {
    const refused = all.filter((v) => v.taken === undefined).map((v) => `${v.shape}: ${v.leaf}: ${v.refusal}`);
    const taken = all.filter((v) => v.taken !== undefined);
    const unused = taken.filter((v) => !JSON.stringify(v.json).includes(v.marker)).map((v) => `${v.shape}: ${v.leaf}`);
    console.log(`hostile text taken by ${taken.length} props (${[...new Set(taken.map((v) => v.leaf))].sort().join(', ')}), ` +
      `of which ${unused.length} reach no block (${unused.join('; ')}); refused by ${refused.length}:\n${refused.join('\n')}`);
    // the free-text props take it in both constructs (controls: the harness is not refusing everything).
    for (const [shape, leaf] of [
      ['AccessDroplet self-hosted', 'accessAppName'], ['AccessDroplet self-hosted', 'clientCloudflaredPath'], ['AccessDroplet self-hosted', 'users.[]:AccessUser.email'],
      ['AccessDroplet infrastructure', 'virtualNetworkId'], ['AccessDroplet self-hosted', 'extraCloudConfig'], ['AccessDropletFleet self-hosted', 'hosts.[]:FleetHost.users.[]:AccessUser.email'],
      ['AccessDropletFleet infrastructure', 'virtualNetworkId'],
    ]) {
      expect({ shape, leaf, taken: all.some((v) => v.shape === shape && v.leaf === leaf && v.taken !== undefined) }).toEqual({ shape, leaf, taken: true });
    }
    // a refusal is the construct's own message, never a crash.
    for (const r of refused) expect(r).not.toMatch(/TypeError|ReferenceError|Cannot read/);
  });

  test('every hostile text that reached a block comes back from terraform exactly as given', () => {
    const problems: string[] = [];
    const reached = all.filter((v) => v.json !== undefined && JSON.stringify(v.json).includes(v.marker));
    for (const v of reached) {
      const mine = Object.entries(resolved).filter(([k]) => k.startsWith(`${v.marker}--`));
      const texts = mine.flatMap(([, value]) => strings(value));
      const asJson = JSON.stringify(v.taken!.text).slice(1, -1);
      if (!texts.some((t) => t.includes(v.taken!.text) || t.includes(asJson))) {
        problems.push(`${v.shape}: ${v.leaf}: ${JSON.stringify(v.taken!.text)} is nowhere in ${mine.map(([k]) => k).join(', ')}`);
      }
      // wherever its marker came back, the template text before it came back unchanged.
      const c = core(v.marker);
      for (const t of texts) {
        for (let at = t.indexOf(v.marker); at >= 0; at = t.indexOf(v.marker, at + 1)) {
          const start = at + v.marker.length - c.length;
          if (t.slice(start, at + v.marker.length) !== c || ['$', '%'].includes(t[start - 1])) {
            problems.push(`${v.shape}: ${v.leaf}: came back as ${JSON.stringify(t.slice(Math.max(0, start - 10), at + v.marker.length))}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
    // where it went: the Access resources, the droplet (user_data) and the outputs among them.
    const kinds = new Set(reached.flatMap((v) => blocksOf(v.json).filter(([, , c]) => JSON.stringify(c).includes(v.marker)).map(([type]) => type)));
    expect([...kinds].sort()).toEqual(expect.arrayContaining(['output', 'resource.cloudflare_zero_trust_access_application', 'resource.cloudflare_zero_trust_access_policy', 'resource.digitalocean_droplet']));
    console.log(`hostile text reached ${[...kinds].sort().join(', ')}`);
  });

  test('the resolved corpus still holds what the constructs meant (references aside)', () => {
    const [policy] = Object.entries(resolved).filter(([k]) => k.startsWith('shape0--resource_cloudflare_zero_trust_access_policy--')).map(([, v]) => v as any);
    expect(policy.include).toEqual([{ email: { email: 'srhea@cloudflare.com' } }]);
    const [droplet] = Object.entries(resolved).filter(([k]) => k.startsWith('shape0--resource_digitalocean_droplet--')).map(([, v]) => v as any);
    // user_data: the cloud-config's text (a local, references aside), the CA key, the token.
    expect(droplet.user_data).toBe('REF"REF\\n"REF"TUNNEL_TOKEN=REF\\n"REF');
    const [text] = Object.entries(resolved).filter(([k]) => /^shape0--locals--Droplet_CloudConfig_[0-9A-F]{8}$/.test(k)).map(([, v]) => v as string[]);
    expect(text[0]).toMatch(/^#cloud-config\n/);
    expect(text.join('')).toContain('TrustedUserCAKeys /etc/ssh/ca.pub');
    expect(droplet.tags.filter((t: string) => !t.startsWith('cdad:'))).toEqual(['REF']);
  });
});
