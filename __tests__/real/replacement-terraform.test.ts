// lib/build (access.ts: accessCaVersion; droplet.ts: userDataCausesReplacement) with REAL
// terraform: the lifecycle wiring an AccessDroplet synthesizes, on a provider-free stand-in of its
// own JSON. Every resource and data source becomes a terraform_data named after its address; a
// reference to any attribute becomes a reference to the stand-in's id (which changes exactly when
// the stand-in is replaced); the droplet's user_data is its triggers_replace, as DigitalOcean
// replaces a droplet whose user_data changes; lifecycle blocks are kept.
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import { AccessDroplet, AccessDropletProps } from '../../lib';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, terraform } from './helpers';

interface Step {
  readonly users: string[];
  readonly caVersion?: string;
  readonly userDataCausesReplacement?: boolean;
}

const nameOf = (kind: string, type: string, name: string) => `${kind === 'data' ? 'data--' : ''}${type}--${name}`;

/** the stand-in of what an AccessDroplet with these props synthesizes. */
function standIn(step: Step): string {
  const parsed = JSON.parse(Testing.synthScope((s) => new AccessDroplet(s, 'Test', {
    accountId: 'acc123', zoneId: 'zone123', hostname: 'droplet.widgetcorp.tech', users: step.users,
    accessCaVersion: step.caVersion, userDataCausesReplacement: step.userDataCausesReplacement,
  } as AccessDropletProps)));
  const rewrite = (text: string) => text.replace(/\$\{(data\.)?([a-z_]+)\.([A-Za-z0-9_-]+)(\.[a-z_.]+)?\}/g,
    (_m, data: string | undefined, type: string, name: string) => `\${terraform_data.${nameOf(data ? 'data' : 'resource', type, name)}.id}`);
  const address = (ref: string) => {
    const [type, name] = ref.split('.');
    return `terraform_data.${nameOf('resource', type, name)}`;
  };
  const resources: Record<string, unknown> = {};
  for (const kind of ['resource', 'data']) {
    for (const [type, items] of Object.entries(parsed[kind] ?? {})) {
      for (const [name, config] of Object.entries(items as Record<string, any>)) {
        const { lifecycle, depends_on: _d, '//': _m, ...rest } = config;
        const body = JSON.parse(rewrite(JSON.stringify(type === 'terraform_data' ? rest.input : rest)));
        const standInBody: Record<string, unknown> = type === 'digitalocean_droplet'
          ? { triggers_replace: { user_data: body.user_data }, input: { ...body, user_data: undefined } }
          : { input: body };
        if (lifecycle !== undefined) {
          standInBody.lifecycle = {
            ...lifecycle,
            ignore_changes: lifecycle.ignore_changes?.map((a: string) => (a === 'user_data' ? 'triggers_replace' : a)),
            replace_triggered_by: lifecycle.replace_triggered_by?.map(address),
          };
        }
        resources[nameOf(kind, type, name)] = standInBody;
      }
    }
  }
  return JSON.stringify({ resource: { terraform_data: resources } }, null, 1);
}

describeReal('replacement wiring under real terraform', [NEEDS.terraform], () => {
  let dir: string;
  let initialised: boolean;
  beforeEach(() => {
    dir = makeTempDir('replacement');
    initialised = false;
  });
  afterEach(() => removeTempDirs());

  const tf = (args: string[]) => terraform(dir, args);
  /** applies a step; returns the ids of certificate and droplet after it. */
  function apply(step: Step): { certificate: string; droplet: string } {
    writeFileSync(join(dir, 'cdk.tf.json'), standIn(step));
    if (!initialised) tf(['init', '-input=false', '-no-color']);
    initialised = true;
    tf(['apply', '-auto-approve', '-input=false', '-no-color']);
    const state = JSON.parse(readFileSync(join(dir, 'terraform.tfstate'), 'utf8'));
    const id = (type: string) => state.resources.find((r: any) => r.name.startsWith(`${type}--`)).instances[0].attributes.id;
    return { certificate: id('cloudflare_zero_trust_access_short_lived_certificate'), droplet: id('digitalocean_droplet') };
  }

  test('by default a user change replaces the droplet; a new accessCaVersion replaces the CA and the droplet; no change replaces nothing', () => {
    const v1 = apply({ users: ['ann@x.io'], caVersion: '1' });
    expect(apply({ users: ['ann@x.io'], caVersion: '1' })).toEqual(v1);
    const moreUsers = apply({ users: ['ann@x.io', 'bob@x.io'], caVersion: '1' });
    expect(moreUsers.certificate).toBe(v1.certificate);
    expect(moreUsers.droplet).not.toBe(v1.droplet);
    const v2 = apply({ users: ['ann@x.io', 'bob@x.io'], caVersion: '2' });
    expect(v2.certificate).not.toBe(v1.certificate);
    expect(v2.droplet).not.toBe(moreUsers.droplet);
  }, 120000);

  test('userDataCausesReplacement false keeps the droplet on a user change, and still replaces it with the CA', () => {
    const v1 = apply({ users: ['ann@x.io'], caVersion: '1', userDataCausesReplacement: false });
    const moreUsers = apply({ users: ['ann@x.io', 'bob@x.io'], caVersion: '1', userDataCausesReplacement: false });
    expect(moreUsers).toEqual(v1);
    const v2 = apply({ users: ['ann@x.io', 'bob@x.io'], caVersion: '2', userDataCausesReplacement: false });
    expect(v2.certificate).not.toBe(v1.certificate);
    expect(v2.droplet).not.toBe(v1.droplet);
    expect(apply({ users: ['ann@x.io', 'bob@x.io', 'cy@x.io'], caVersion: '2', userDataCausesReplacement: false })).toEqual(v2);
  }, 120000);

  test('setting accessCaVersion the first time on a deployed stack replaces nothing; changing it then rotates', () => {
    const before = apply({ users: ['ann@x.io'] });
    const first = apply({ users: ['ann@x.io'], caVersion: '1' });
    // terraform: creating the referenced terraform_data does not trigger replace_triggered_by.
    expect(first).toEqual(before);
    const second = apply({ users: ['ann@x.io'], caVersion: '2' });
    expect(second.certificate).not.toBe(before.certificate);
    expect(second.droplet).not.toBe(before.droplet);
  }, 120000);
});
