// issue 17.4 with REAL terraform: how the tunnel token data source is wired decides whether an
// unrelated in-place change of the tunnel replaces the droplet.
//
// Why (terraform v1.11.4): a data source is read during plan unless its configuration is unknown
// or "a dependency has changes pending" (internal/terraform/node_resource_abstract_instance.go,
// planDataSource -> dependenciesHavePendingChanges: any planned action other than no-op of a
// dependency defers the read to apply, and the data source's whole result is unknown until then).
// Its dependencies are its depends_on plus, implicitly, every MANAGED resource its configuration
// references directly (transform_reference.go, dataDependsOn: "references to managed resources
// ... as depends_on entries"); through a local, variable, output or module the search goes on to
// every ancestor resource, but a reference to another resource stops there (ReferenceMap.dependsOn:
// ancestors only "when we're not pointed directly at a resource"). A data source with a
// precondition or postcondition checks all its direct and indirect dependencies instead.
//
// So `tunnel_id = cloudflare_zero_trust_tunnel_cloudflared.X.id` makes any planned change of the
// tunnel (a name put back after a dashboard rename) defer the token: user_data becomes unknown,
// and user_data forces a new droplet; with userDataCausesReplacement false, DropletTrust changes
// and replace_triggered_by replaces the droplet all the same. Reading the id through a
// terraform_data whose input is the id fixes it: terraform_data has no remote object, so it never
// drifts, and it changes only when the id does (a new tunnel: input unknown, output unknown, the
// token is read at apply and the droplet is replaced, as it must be).
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import {
  describeReal, libraryStack, makeTempDir, NEEDS, removeTempDirs, Shape, SHAPES, standIn, StandIn, terraform, TerraformJson,
  tfApplyOk, tfInit, tfPlan, tfPlanResult, tfState, wireTokenThroughTerraformData,
} from './helpers';

const TOKEN = 'cloudflare_zero_trust_tunnel_cloudflared_token';
const TUNNEL = 'cloudflare_zero_trust_tunnel_cloudflared';
const DEFERRED = 'read_because_dependency_pending';

/**
 * the library's JSON for `shape` with the TunnelId wiring; `wireTokenThroughTerraformData` is the
 * step that lib/internal/tunnel.ts `defineTunnel` takes over (a no-op once it does).
 */
function wired(shape: Shape, props: Record<string, unknown> = {}): TerraformJson {
  const stack = libraryStack(shape, props);
  wireTokenThroughTerraformData(stack);
  return JSON.parse(Testing.synth(stack));
}

/**
 * The shape the library must synthesize, for every token data source: a terraform_data
 * `<tunnel scope>_TunnelId_<hash>` (construct "TunnelId" beside "Tunnel" and "Token") whose input is
 * exactly the tunnel's id, and the token's tunnel_id its output; nothing else on either (no
 * lifecycle, no depends_on: a condition on the data source would bring the deferral back).
 */
function expectTokenWiring(json: TerraformJson): void {
  const tokens = Object.entries<any>(json.data[TOKEN]);
  expect(tokens.length).toBeGreaterThan(0);
  for (const [name, token] of tokens) {
    const scope = name.replace(/_Token_[0-9A-F]{8}$/, '');
    const [tunnelName] = Object.keys(json.resource[TUNNEL]).filter((t) => t.replace(/_Tunnel_[0-9A-F]{8}$/, '_Tunnel') === scope);
    expect(tunnelName).toBeDefined();
    const match = /^\$\{terraform_data\.([\w-]+)\.output\}$/.exec(token.tunnel_id);
    expect(match).not.toBeNull();
    expect(match![1]).toMatch(new RegExp(`^${scope}_TunnelId_[0-9A-F]{8}$`));
    expect(json.resource.terraform_data[match![1]]).toEqual({ input: `\${${TUNNEL}.${tunnelName}.id}` });
    expect(Object.keys(token).sort()).toEqual(['account_id', 'tunnel_id']);
  }
}

/** the 0.2.0 wiring, from a wired JSON: the token reads the tunnel's id straight, no TunnelId. */
function unwired(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  for (const token of Object.values<any>(out.data[TOKEN])) {
    const via = /^\$\{terraform_data\.([\w-]+)\.output\}$/.exec(token.tunnel_id)![1];
    token.tunnel_id = out.resource.terraform_data[via].input;
    delete out.resource.terraform_data[via];
  }
  return out;
}

describeReal('the tunnel token under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  /** writes `s` (token values by data source) to a new directory, inits and applies it. */
  function deploy(s: StandIn, tokens: Record<string, string> = {}): string {
    const dir = makeTempDir('token-wiring');
    s.write(dir, Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, { values: { token: v } }])));
    tfInit(dir);
    tfApplyOk(dir);
    return dir;
  }

  /** "someone renamed the tunnel in the dashboard": the refreshed name differs, terraform puts it back. */
  function driftName(dir: string, address: string): void {
    const state = JSON.parse(terraform(dir, ['state', 'pull']));
    const [type, name] = address.split('.');
    const attributes = state.resources.find((r: any) => r.type === type && r.name === name).instances[0].attributes;
    attributes.input.value.name = `${attributes.input.value.name}-renamed-in-dashboard`;
    attributes.output = attributes.input;
    state.serial += 1;
    writeFileSync(join(dir, 'drifted.tfstate'), JSON.stringify(state));
    terraform(dir, ['state', 'push', 'drifted.tfstate']);
  }

  describe('a hand-made stand-in of the two wirings, side by side', () => {
    // tunnel, token, a droplet whose user_data holds the token, and a kept droplet that
    // DropletTrust replaces (userDataCausesReplacement false); `viaTerraformData` picks the wiring.
    const config = (tunnelName: string, viaTerraformData: boolean) => ({
      resource: {
        terraform_data: {
          tunnel: { input: { name: tunnelName }, triggers_replace: { account_id: 'acc123', config_src: 'cloudflare' } },
          ...(viaTerraformData ? { tunnel_id: { input: '${terraform_data.tunnel.id}' } } : {}),
          droplet: { triggers_replace: { user_data: 'TUNNEL_TOKEN=${data.terraform_remote_state.token.outputs.token}' } },
          trust: { input: { tunnel_token: '${data.terraform_remote_state.token.outputs.token}' } },
          kept: { triggers_replace: { user_data: 'TUNNEL_TOKEN=${data.terraform_remote_state.token.outputs.token}' }, lifecycle: { ignore_changes: ['triggers_replace'], replace_triggered_by: ['terraform_data.trust'] } },
        },
      },
      data: {
        terraform_remote_state: {
          token: {
            backend: 'local', config: { path: 'token.tfstate' },
            defaults: { account_id: 'acc123', tunnel_id: viaTerraformData ? '${terraform_data.tunnel_id.output}' : '${terraform_data.tunnel.id}' },
          },
        },
      },
    });

    function renamePlan(viaTerraformData: boolean) {
      const dir = makeTempDir('token-by-hand');
      const token = { version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'by-hand', outputs: { token: { value: 'token-1', type: 'string' } }, resources: [] };
      writeFileSync(join(dir, 'token.tfstate'), JSON.stringify(token));
      writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(config('web', viaTerraformData)));
      tfInit(dir);
      tfApplyOk(dir);
      writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(config('web-renamed', viaTerraformData)));
      return tfPlan(dir);
    }

    test('0.2.0 wiring (documented failure): renaming the tunnel in place defers the token and replaces both droplets', () => {
      const plan = renamePlan(false);
      expect(plan.actions('terraform_data.tunnel')).toBe('update');
      expect(plan.actions('data.terraform_remote_state.token')).toBe('read');
      expect(plan.changes.get('data.terraform_remote_state.token')!.reason).toBe(DEFERRED);
      expect(plan.text).toMatch(/depends on a resource or a module with changes pending/);
      expect(plan.actions('terraform_data.droplet')).toBe('delete,create');
      expect(plan.actions('terraform_data.trust')).toBe('update');
      expect(plan.actions('terraform_data.kept')).toBe('delete,create');
      expect(plan.changes.get('terraform_data.kept')!.reason).toBe('replace_by_triggers');
    });

    test('TunnelId wiring: the same rename reads the token at plan and keeps both droplets', () => {
      const plan = renamePlan(true);
      expect(plan.actions('terraform_data.tunnel')).toBe('update');
      expect(plan.actions('terraform_data.tunnel_id')).toBe('no-op');
      expect(plan.changes.has('data.terraform_remote_state.token')).toBe(false);
      for (const r of ['droplet', 'trust', 'kept']) expect(plan.actions(`terraform_data.${r}`)).toBe('no-op');
    });
  });

  describe('the TunnelId wiring on the library output', () => {
    test('is the JSON the library must synthesize, in every shape', () => {
      for (const shape of SHAPES) expectTokenWiring(wired(shape));
    });

    test.each(SHAPES)('%s: a tunnel renamed in the dashboard, or in the stack, changes the tunnel in place and nothing else', (shape) => {
      const s = standIn(wired(shape));
      const dir = deploy(s);
      const tunnels = s.resourcesOf(TUNNEL).map((t) => t.address);
      const droplets = s.resourcesOf('digitalocean_droplet').map((d) => d.address);
      const before = tfState(dir);

      driftName(dir, tunnels[0]);
      const drift = tfPlan(dir);
      expect(drift.actions(tunnels[0])).toBe('update');
      expect([...drift.changes.values()].filter((c) => c.actions.join() !== 'no-op').map((c) => c.address)).toEqual([tunnels[0]]);

      const renamed = structuredClone(s.config);
      for (const t of tunnels) renamed.resource.terraform_data[t.split('.')[1]].input.name += '-v2';
      writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify(renamed));
      const rename = tfPlan(dir);
      for (const t of tunnels) expect(rename.actions(t)).toBe('update');
      for (const d of s.dataOf(TOKEN)) expect(rename.changes.has(d.address)).toBe(false);
      for (const d of droplets) expect(rename.actions(d)).toBe('no-op');
      tfApplyOk(dir);
      for (const d of droplets) expect(tfState(dir).get(d)!.id).toBe(before.get(d)!.id);
    });

    test.each(['self-hosted', 'fleet'] as Shape[])('%s: a new tunnel gives a new token and replaces its droplet (only its own)', (shape) => {
      const s = standIn(wired(shape));
      const [token] = s.dataOf(TOKEN);
      const dir = deploy(s, { [token.original]: 'token-of-the-first-tunnel' });
      const [tunnel] = s.resourcesOf(TUNNEL);
      const droplets = s.resourcesOf('digitalocean_droplet').map((d) => d.address);
      const mine = droplets.find((d) => d.split('.')[1].startsWith(tunnel.name.replace(/_Tunnel_[0-9A-F]{8}$/, '')))!;
      const before = tfState(dir);

      // a new tunnel has a new token: what Cloudflare answers once it exists.
      s.setDataOutputs(dir, token.original, { values: { token: 'token-of-the-second-tunnel' } });
      const plan = tfPlan(dir, [`-replace=${tunnel.address}`]);
      expect(plan.actions(tunnel.address)).toBe('delete,create');
      expect(plan.actions(token.address)).toBe('read');
      expect(plan.changes.get(token.address)!.reason).toBe('read_because_config_unknown');
      expect(plan.actions(mine)).toBe('delete,create');
      for (const other of droplets.filter((d) => d !== mine)) expect(plan.actions(other)).toBe('no-op');
      tfApplyOk(dir, [`-replace=${tunnel.address}`]);
      const after = tfState(dir);
      expect(after.get(mine)!.id).not.toBe(before.get(mine)!.id);
      expect(after.get(mine)!.attributes.triggers_replace.value.user_data).toContain('TUNNEL_TOKEN=token-of-the-second-tunnel');
    });

    test('userDataCausesReplacement false: DropletTrust keeps the droplet across a rename and replaces it with a new tunnel', () => {
      const s = standIn(wired('infrastructure', { userDataCausesReplacement: false }));
      const dir = deploy(s);
      const [tunnel] = s.resourcesOf(TUNNEL);
      const [droplet] = s.resourcesOf('digitalocean_droplet');
      driftName(dir, tunnel.address);
      expect(tfPlan(dir).actions(droplet.address)).toBe('no-op');
      const replaced = tfPlan(dir, [`-replace=${tunnel.address}`]);
      expect(replaced.actions(droplet.address)).toBe('delete,create');
      expect(replaced.changes.get(droplet.address)!.reason).toBe('replace_by_triggers');
    });

    test('upgrading a deployed 0.2.0 stack: creating TunnelId defers the token once and replaces the droplet, unless TunnelId is applied first with -target', () => {
      const json = wired('self-hosted');
      const old = standIn(unwired(json));
      const dir = deploy(old);
      const s = standIn(json);
      s.write(dir);
      const [droplet] = s.resourcesOf('digitalocean_droplet');
      const tunnelId = Object.keys(s.config.resource.terraform_data).find((n) => /_TunnelId_/.test(n))!;
      const direct = tfPlan(dir);
      expect(direct.actions(`terraform_data.${tunnelId}`)).toBe('create');
      expect(direct.actions(droplet.address)).toBe('delete,create');

      tfApplyOk(dir, [`-target=terraform_data.${tunnelId}`]);
      expect(tfPlanResult(dir).status).toBe(0);
    });

    test('a condition on the token data source brings the deferral back (terraform then checks indirect dependencies)', () => {
      const json = wired('self-hosted');
      for (const d of Object.values<any>(json.data[TOKEN])) d.lifecycle = { postcondition: [{ condition: '${self.token != ""}', error_message: 'no token' }] };
      const s = standIn(json);
      const dir = deploy(s);
      const [tunnel] = s.resourcesOf(TUNNEL);
      driftName(dir, tunnel.address);
      const plan = tfPlan(dir);
      expect(plan.changes.get(s.dataOf(TOKEN)[0].address)!.reason).toBe(DEFERRED);
      expect(plan.actions(s.resourcesOf('digitalocean_droplet')[0].address)).toBe('delete,create');
    });
  });
});
