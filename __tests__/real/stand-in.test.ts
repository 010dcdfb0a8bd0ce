// the stand-in transformer (helpers/stand-in.ts) that the real-terraform tests run the library's
// output through: every shape converts, the graph is the same, references land on the right
// stand-in attribute, and real terraform applies each shape and plans in place or replaces as the
// providers' schemas say. Also the reverse transformations (helpers/released-wiring.ts) that derive
// 0.2.0's wiring from the library's JSON for the tests that show it fail.
import { Testing } from 'cdktf';
import { inlineUserData } from '../fixtures';
import {
  cloudConfigInline, describeReal, FORCE_NEW, libraryStack, makeTempDir, mapInterpolations, NEEDS, removeTempDirs, SHAPES, standIn, StandIn,
  terraform, tfApplyOk, tfInit, tfPlan, tfPlanResult, tfState, tokenInTrustInput, tunnelIdStraightFromTunnel, withoutCreateBeforeDestroy,
  withoutFirewallDependsOn, withoutSensitive, withReleasedWiring,
} from './helpers';

const PROVIDER_ADDRESS = /(?<![\w.])(data\.)?(cloudflare_[a-z_]+|digitalocean_[a-z_]+|null_resource)\.[A-Za-z_]/;

/** the stand-in of the full-featured self-hosted AccessDroplet (CA rotation, DropletTrust, project, readiness wait). */
function fullSelfHosted(props: Record<string, unknown> = {}) {
  const synth = Testing.synth(libraryStack('self-hosted', {
    userDataCausesReplacement: false, accessCaVersion: '1', projectId: 'proj1', waitForReady: true, ...props,
  }));
  return { synth: JSON.parse(synth), s: standIn(synth) };
}

/** every address of `known` that the JSON of `block` mentions. */
function referenced(block: unknown, known: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const m of JSON.stringify(block).matchAll(/(?<![\w.])(?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*/g)) {
    if (known.has(m[0])) out.add(m[0]);
  }
  return out;
}

/** the dependency edges "from -> to" of a configuration, over resources, data sources, locals and outputs. */
function edges(json: any, rename: (address: string) => string = (a) => a): Set<string> {
  const blocks: [string, unknown][] = [];
  for (const [kind, prefix] of [['resource', ''], ['data', 'data.']] as const) {
    for (const [type, items] of Object.entries<any>(json[kind] ?? {})) {
      for (const [name, block] of Object.entries(items)) blocks.push([`${prefix}${type}.${name}`, block]);
    }
  }
  for (const [name, value] of Object.entries(json.locals ?? {})) blocks.push([`local.${name}`, value]);
  const known = new Set(blocks.map(([a]) => a));
  const out = new Set<string>();
  for (const [from, block] of blocks) for (const to of referenced(block, known)) if (to !== from) out.add(`${rename(from)} -> ${rename(to)}`);
  for (const [name, o] of Object.entries<any>(json.output ?? {})) for (const to of referenced(o, known)) out.add(`output.${name} -> ${rename(to)}`);
  return out;
}

describe('the stand-in transformer', () => {
  test('finds every interpolation and directive, nested ones whole, and leaves escapes alone', () => {
    const seen: string[] = [];
    const text = 'a $${not} ${f("}${x.y}", {k = "v"})} %{ if z }b%{ endif } %%{literal} ${"\\"}"}';
    const same = mapInterpolations(text, (e) => {
      seen.push(e);
      return e;
    });
    expect(same).toBe(text);
    expect(seen).toEqual(['f("}${x.y}", {k = "v"})', ' if z ', ' endif ', '"\\"}"']);
  });

  test.each(SHAPES)('%s: only built-ins are left, one stand-in per block, and the dependency graph is the same', (shape) => {
    const synth = JSON.parse(Testing.synth(libraryStack(shape, { waitForReady: true, projectId: 'proj1' })));
    const s = standIn(synth);
    expect(Object.keys(s.config.resource)).toEqual(['terraform_data']);
    expect(Object.keys(s.config.data)).toEqual(['terraform_remote_state']);
    expect(s.config.provider).toBeUndefined();
    expect(s.config.terraform).toBeUndefined();
    expect(JSON.stringify(s.config)).not.toMatch(PROVIDER_ADDRESS);
    const count = (kind: string) => Object.values<any>(synth[kind]).reduce((n, items) => n + Object.keys(items).length, 0);
    expect(Object.keys(s.config.resource.terraform_data)).toHaveLength(count('resource'));
    expect(Object.keys(s.config.data.terraform_remote_state)).toHaveLength(count('data'));
    expect(Object.keys(s.config.output)).toEqual(Object.keys(synth.output));
    expect(Object.keys(s.config.locals)).toEqual(Object.keys(synth.locals));
    const original = edges(synth, (a) => (a.startsWith('local.') ? a : s.addressOf(a)));
    expect(original.size).toBeGreaterThan(10);
    // the token reads the tunnel's id through a local, in the stand-in too.
    expect([...original].filter((e) => / -> local\./.test(e)).length).toBeGreaterThan(0);
    expect(edges(s.config)).toEqual(original);
  });

  test('references land on the stand-in attribute that behaves like the original', () => {
    const { synth, s } = fullSelfHosted();
    const td = s.config.resource.terraform_data;
    const name = (type: string) => s.resourcesOf(type)[0].name;
    const droplet = td[name('digitalocean_droplet')];
    const token = s.dataOf('cloudflare_zero_trust_tunnel_cloudflared_token')[0];
    const trust = Object.keys(td).find((n) => n.includes('DropletTrust'))!;

    // user_data forces replacement: triggers_replace, with the token read (through sensitive()) inside jsonencode.
    expect(droplet.triggers_replace.user_data).toContain(`\${jsonencode("TUNNEL_TOKEN=\${sensitive(${token.address}.outputs.token)}\\n")}`);
    expect(droplet.input.user_data).toBeUndefined();
    expect(droplet.input.size).toBe('s-1vcpu-1gb');
    // an argument of another stand-in: its configured value; a computed attribute (urn): its id.
    expect(droplet.input.tags[0]).toBe(`\${terraform_data.${name('digitalocean_tag')}.triggers_replace.name}`);
    // the account tags are literals, copied as they are.
    expect(droplet.input.tags.slice(1)).toEqual(synth.resource.digitalocean_droplet[name('digitalocean_droplet')].tags.slice(1));
    expect(droplet.input.tags.slice(1).every((t: string) => t.startsWith('cdad:'))).toBe(true);
    expect(td[name('digitalocean_project_resources')].input.resources).toEqual([`\${terraform_data.${name('digitalocean_droplet')}.id}`]);
    expect(s.resourcesOf('digitalocean_droplet')[0].computedRead).toEqual(new Set(['urn']));
    // lifecycle and depends_on keep their meaning on the stand-in's attributes and addresses.
    expect(droplet.lifecycle).toEqual({ ignore_changes: ['triggers_replace.user_data'], replace_triggered_by: [`terraform_data.${trust}`] });
    expect(droplet.depends_on).toEqual([`terraform_data.${name('digitalocean_firewall')}`]);
    const wait = td[name('null_resource')];
    expect(wait.depends_on).toEqual(synth.resource.null_resource[name('null_resource')].depends_on.map((a: string) => s.addressOf(a)));
    expect(wait.provisioner).toBeUndefined();
    // terraform_data resources stay, their references rewritten.
    expect(td[trust]).toEqual({ triggers_replace: {
      ca_public_key: `\${terraform_data.${name('cloudflare_zero_trust_access_short_lived_certificate')}.id}`,
      tunnel_token: `\${sensitive(${token.address}.outputs.token)}`,
    } });
    // locals stay, by name, their references rewritten: the tunnel id the token reads.
    // the cloud-config's text, which holds no reference, is kept as it is.
    const [cloudConfig, tunnelId] = Object.keys(synth.locals);
    expect([cloudConfig, tunnelId]).toEqual([expect.stringMatching(/^Test_CloudConfig_[0-9A-F]{8}$/), expect.stringMatching(/^Test_Tunnel_TunnelId_[0-9A-F]{8}$/)]);
    expect(s.config.locals).toEqual({
      [cloudConfig]: synth.locals[cloudConfig],
      [tunnelId]: `\${terraform_data.${name('cloudflare_zero_trust_tunnel_cloudflared')}.id}`,
    });
    // the data source: a state file, its arguments as defaults (the local included, as it is).
    expect(s.config.data.terraform_remote_state[token.name]).toEqual({
      backend: 'local', config: { path: token.stateFile },
      defaults: { account_id: 'acc123', tunnel_id: `\${local.${tunnelId}}` },
    });
    expect(token.reads).toEqual(new Set(['token']));
  });

  test('keeps lifecycle flags and conditions, rewriting self, and marks the data attributes a provider marks sensitive', () => {
    const s = standIn({
      resource: {
        digitalocean_tag: { t: { name: 'x' } },
        digitalocean_droplet: {
          d: {
            image: 'i', size: 's', tags: ['${digitalocean_tag.t.name}'], user_data: '${data.cloudflare_zero_trust_tunnel_cloudflared_token.k.token}',
            lifecycle: {
              create_before_destroy: true, prevent_destroy: true,
              precondition: [{ condition: '${digitalocean_tag.t.name != ""}', error_message: 'tag' }],
              postcondition: [{ condition: '${self.ipv4_address != "" && self.size != "" && self.image != ""}', error_message: 'ip' }],
            },
          },
        },
      },
      data: { cloudflare_zero_trust_tunnel_cloudflared_token: { k: { tunnel_id: 't', lifecycle: { postcondition: [{ condition: '${self.token != ""}', error_message: 'e' }] } } } },
      output: { o: { value: '${digitalocean_droplet.d.id}', depends_on: ['digitalocean_tag.t'], sensitive: true } },
    }, { sensitiveAttributes: { cloudflare_zero_trust_tunnel_cloudflared_token: ['token'] } });
    const d = s.config.resource.terraform_data.d;
    expect(d.triggers_replace.user_data).toBe('${sensitive(data.terraform_remote_state.k.outputs.token)}');
    expect(d.lifecycle).toEqual({
      create_before_destroy: true, prevent_destroy: true,
      precondition: [{ condition: '${terraform_data.t.triggers_replace.name != ""}', error_message: 'tag' }],
      postcondition: [{ condition: '${self.id != "" && self.input.size != "" && self.triggers_replace.image != ""}', error_message: 'ip' }],
    });
    expect(s.config.data.terraform_remote_state.k.lifecycle).toEqual({ postcondition: [{ condition: '${self.outputs.token != ""}', error_message: 'e' }] });
    expect(s.config.output.o).toEqual({ value: '${terraform_data.d.id}', depends_on: ['terraform_data.t'], sensitive: true });
  });

  test('keeps locals by name, rewriting the references inside them, and leaves local. references alone', () => {
    const s = standIn({
      locals: {
        tunnel_id: '${cloudflare_zero_trust_tunnel_cloudflared.t.id}',
        tunnel_name: '${cloudflare_zero_trust_tunnel_cloudflared.t.name}',
        tunnel_tag: '${cloudflare_zero_trust_tunnel_cloudflared.t.tunnel_type}',
        token: '${sensitive(data.cloudflare_zero_trust_tunnel_cloudflared_token.k.token)}',
        both: '${local.tunnel_id}-${upper(local.tunnel_name)}',
        list: ['${cloudflare_zero_trust_tunnel_cloudflared.t.account_id}', 'plain'],
      },
      resource: {
        cloudflare_zero_trust_tunnel_cloudflared: { t: { account_id: 'a', name: 'n', config_src: 'cloudflare' } },
        digitalocean_droplet: { d: { image: 'i', user_data: '${local.token}', tags: ['${local.both}'] } },
      },
      data: { cloudflare_zero_trust_tunnel_cloudflared_token: { k: { account_id: 'a', tunnel_id: '${local.tunnel_id}' } } },
    });
    expect(s.config.locals).toEqual({
      tunnel_id: '${terraform_data.t.id}',
      tunnel_name: '${terraform_data.t.input.name}',
      tunnel_tag: '${terraform_data.t.id}',
      token: '${sensitive(data.terraform_remote_state.k.outputs.token)}',
      both: '${local.tunnel_id}-${upper(local.tunnel_name)}',
      list: ['${terraform_data.t.triggers_replace.account_id}', 'plain'],
    });
    expect(s.config.resource.terraform_data.d).toEqual({ input: { tags: ['${local.both}'] }, triggers_replace: { image: 'i', user_data: '${local.token}' } });
    expect(s.config.data.terraform_remote_state.k.defaults).toEqual({ account_id: 'a', tunnel_id: '${local.tunnel_id}' });
    // what the configuration reads through a local counts like a direct read.
    expect(s.dataOf('cloudflare_zero_trust_tunnel_cloudflared_token')[0].reads).toEqual(new Set(['token']));
    expect(s.resourcesOf('cloudflare_zero_trust_tunnel_cloudflared')[0].computedRead).toEqual(new Set(['tunnel_type']));
  });

  test('fails on a resource type it does not know the replacing arguments of', () => {
    expect(() => standIn({ resource: { digitalocean_volume: { v: { size: 1 } } } })).toThrow(/no FORCE_NEW entry for resource type digitalocean_volume/);
    expect(standIn({ resource: { digitalocean_volume: { v: { size: 1 } } } }, { forceNew: { digitalocean_volume: ['size'] } }).resources).toHaveLength(1);
    expect(FORCE_NEW.digitalocean_droplet).toContain('user_data');
  });
});

describe('0.2.0\'s wiring, derived from the library\'s JSON (helpers/released-wiring.ts)', () => {
  const synth = (shape: typeof SHAPES[number], props: Record<string, unknown> = {}) => JSON.parse(Testing.synth(libraryStack(shape, props)));
  const TOKEN = 'cloudflare_zero_trust_tunnel_cloudflared_token';
  const TUNNEL = 'cloudflare_zero_trust_tunnel_cloudflared';

  test('each transformation undoes its one change, and refuses a JSON that does not have it', () => {
    const json = synth('fleet', { userDataCausesReplacement: false });
    const inline = cloudConfigInline(json);
    expect(inline.locals).toEqual(Object.fromEntries(Object.entries(json.locals).filter(([n]) => !n.startsWith('Fleet_CloudConfig_'))));
    expect(Object.values<any>(inline.resource.digitalocean_droplet).map((d) => d.user_data))
      .toEqual(Object.values<any>(inlineUserData(structuredClone(json)).resource.digitalocean_droplet).map((d) => d.user_data));
    for (const d of Object.values<any>(inline.resource.digitalocean_droplet)) expect(d.user_data).toMatch(/^#cloud-config\n/);
    expect(() => cloudConfigInline(inline)).toThrow(/reads no cloud-config local/);

    const straight = tunnelIdStraightFromTunnel(inline);
    expect(straight.locals).toBeUndefined();
    for (const [name, token] of Object.entries<any>(straight.data[TOKEN])) {
      // its own tunnel: the one in the same scope.
      const scope = name.replace(/_Token_[0-9A-F]{8}$/, '');
      const tunnel = Object.keys(json.resource[TUNNEL]).find((t) => t.replace(/_Tunnel_[0-9A-F]{8}$/, '_Tunnel') === scope);
      expect(token.tunnel_id).toBe(`\${${TUNNEL}.${tunnel}.id}`);
    }
    expect(new Set(Object.values<any>(straight.data[TOKEN]).map((t) => t.tunnel_id)).size).toBe(2);
    expect(() => tunnelIdStraightFromTunnel(straight)).toThrow(/not a local holding a tunnel's id/);

    const plain = withoutSensitive(json);
    expect(JSON.stringify(plain)).not.toContain('sensitive(');
    expect(JSON.stringify(plain)).toContain(`TUNNEL_TOKEN=\${data.${TOKEN}.`);
    expect(() => withoutSensitive(plain)).toThrow(/no sensitive\(\) read/);

    const input = tokenInTrustInput(json);
    const trusts = Object.entries<any>(input.resource.terraform_data).filter(([n]) => n.includes('_DropletTrust_'));
    expect(trusts).toHaveLength(2);
    for (const [, t] of trusts) expect(Object.keys(t)).toEqual(['input']);
    expect(() => tokenInTrustInput(input)).toThrow(/does not hold the token in triggers_replace/);
    expect(() => tokenInTrustInput(synth('self-hosted'))).toThrow(/no DropletTrust/);

    const loose = withoutFirewallDependsOn(json);
    for (const d of Object.values<any>(loose.resource.digitalocean_droplet)) expect(d.depends_on).toBeUndefined();
    expect(() => withoutFirewallDependsOn(loose)).toThrow(/does not depend on a firewall/);

    const destroyFirst = withoutCreateBeforeDestroy(json);
    for (const d of Object.values<any>(destroyFirst.resource.digitalocean_droplet)) expect(d.lifecycle.create_before_destroy).toBeUndefined();
    expect(() => withoutCreateBeforeDestroy(synth('self-hosted', { accessCaVersion: '1' }))).toThrow(/has no create_before_destroy/);
  });

  test('together they leave nothing of the new wiring, and change nothing else', () => {
    const json = synth('self-hosted', { userDataCausesReplacement: false });
    const old = withReleasedWiring(json);
    const text = JSON.stringify(old);
    // `${local.` and not `local.`: the cloud-config itself names cloud-init-local.service.
    for (const gone of ['${local.', 'sensitive(', 'depends_on', 'create_before_destroy', 'triggers_replace']) expect(text).not.toContain(gone);
    // the droplet's other lifecycle settings and every other block stay as synthesized.
    const [droplet] = Object.keys(json.resource.digitalocean_droplet);
    const { depends_on: _d, lifecycle: { create_before_destroy: _c, ...lifecycle }, user_data: _u, ...rest } = json.resource.digitalocean_droplet[droplet];
    expect(old.resource.digitalocean_droplet[droplet]).toEqual({ ...rest, lifecycle, user_data: old.resource.digitalocean_droplet[droplet].user_data });
    for (const type of Object.keys(json.resource).filter((t) => !['digitalocean_droplet', 'terraform_data'].includes(t))) {
      expect(old.resource[type]).toEqual(json.resource[type]);
    }
  });
});

describeReal('stand-ins under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  function deploy(s: StandIn, dir = makeTempDir('stand-in')): string {
    s.write(dir);
    tfInit(dir);
    tfApplyOk(dir);
    return dir;
  }

  test.each(SHAPES)('%s: validates, applies, and then plans no changes', (shape) => {
    const s = standIn(Testing.synth(libraryStack(shape, { waitForReady: true, projectId: 'proj1' })));
    const dir = deploy(s);
    expect(terraform(dir, ['validate', '-no-color'])).toMatch(/The configuration is valid/);
    expect(tfPlanResult(dir).status).toBe(0);
  });

  test('an in-place argument updates the stand-in, a replacing one replaces it, and what reads a computed attribute follows the new object', () => {
    const dir = deploy(fullSelfHosted().s);
    const droplet = fullSelfHosted().s.resourcesOf('digitalocean_droplet')[0].address;
    const project = fullSelfHosted().s.resourcesOf('digitalocean_project_resources')[0].address;
    const before = tfState(dir).get(droplet)!.id;

    fullSelfHosted({ size: 's-2vcpu-2gb' }).s.write(dir);
    const resize = tfPlan(dir);
    expect(resize.actions(droplet)).toBe('update');
    expect(resize.actions(project)).toBe('no-op');

    fullSelfHosted({ size: 's-2vcpu-2gb', region: 'fra1' }).s.write(dir);
    const move = tfPlan(dir);
    expect(move.actions(droplet)).toBe('delete,create');
    expect(move.actions(project)).toBe('update');
    tfApplyOk(dir);
    const after = tfState(dir);
    expect(after.get(droplet)!.id).not.toBe(before);
    // terraform_data keeps its dynamic values in the state as { value, type }.
    expect(after.get(project)!.attributes.input.value.resources).toEqual([after.get(droplet)!.id]);
  });
});
