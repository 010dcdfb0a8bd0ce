// Writes the README's props tables from the jsii assembly (.jsii, made by `npm run build`), so
// the README says what the TSDoc says. `npm run api:check` runs it and fails on a diff.
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

const root = join(__dirname, '..');
const assembly = JSON.parse(readFileSync(join(root, '.jsii'), 'utf8'));
const ns = `${assembly.name}.`;

function typeName(t: any): string {
  if (t.primitive) return t.primitive;
  if (t.fqn) return t.fqn.startsWith(ns) ? t.fqn.slice(ns.length) : t.fqn;
  if (t.union) return t.union.types.map(typeName).join(' \\| ');
  if (t.collection) {
    const inner = typeName(t.collection.elementtype);
    return t.collection.kind === 'array' ? (inner.includes('|') ? `(${inner})[]` : `${inner}[]`) : `{ [key: string]: ${inner} }`;
  }
  return 'unknown';
}

function cell(text: string | undefined): string {
  return (text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|').trim();
}

function defaultOf(d: string | undefined): string {
  if (d === undefined) return '';
  return d.startsWith('- ') ? cell(d.slice(2)) : `\`${cell(d)}\``;
}

/** a struct's properties, its own and those of the interfaces it extends, by name. */
function propertiesOf(fqn: string): any[] {
  const type = assembly.types[fqn];
  if (!type) throw new Error(`${fqn} is not in the assembly`);
  const inherited = (type.interfaces ?? []).flatMap(propertiesOf);
  return [...inherited, ...(type.properties ?? [])];
}

function table(fqn: string): string {
  const rows = propertiesOf(fqn).sort((a: any, b: any) => Number(!!a.optional) - Number(!!b.optional) || a.name.localeCompare(b.name));
  return [
    '| Name | Description | Type | Default | Required |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((p: any) => `| \`${p.name}\` | ${cell(p.docs?.summary)} | \`${typeName(p.type)}\` | ${defaultOf(p.docs?.default)} | ${p.optional ? 'no' : 'yes'} |`),
  ].join('\n');
}

const readmePath = join(root, 'README.md');
let readme = readFileSync(readmePath, 'utf8');
for (const name of ['AccessDropletProps', 'AccessUser', 'AccessDropletFleetProps', 'FleetHost']) {
  const start = `<!-- props:${name}:start -->`;
  const end = `<!-- props:${name}:end -->`;
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error(`README.md has no ${start} ... ${end} section`);
  readme = `${readme.slice(0, a + start.length)}\n${table(ns + name)}\n${readme.slice(b)}`;
}
writeFileSync(readmePath, readme);
console.log('README.md props tables written from .jsii');
