// issue 17.4 with REAL terraform: how the tunnel token data source is wired decides whether an
// unrelated in-place change of the tunnel replaces the droplet.
//
// Why (terraform v1.11.4): a data source is read during plan unless its configuration is unknown
// or "a dependency has changes pending" (internal/terraform/node_resource_abstract_instance.go,
// planDataSource -> dependenciesHavePendingChanges: any planned action other than no-op of a
// dependency defers the read to apply, and the data source's whole result is unknown until then).
// Its dependencies are its depends_on plus, implicitly, every MANAGED resource its configuration
// references directly (transform_reference.go, dataDependsOn: "We only want to wait on directly
// referenced managed resources"). Only an explicit depends_on entry that is not a resource (a
// module, output or variable) makes terraform search that entry's ancestors; a local, variable or
// output that the configuration merely reads is no managed resource and adds no dependency. A data
// source with a precondition or postcondition checks all its direct and indirect dependencies.
//
// So `tunnel_id = cloudflare_zero_trust_tunnel_cloudflared.X.id` (0.2.0) makes any planned change of
// the tunnel (a name put back after a dashboard rename) defer the token: user_data becomes unknown,
// and user_data forces a new droplet; with userDataCausesReplacement false, DropletTrust changes
// and replace_triggered_by replaces the droplet all the same. The library reads the id through a
// local ("TunnelId"): the token then depends on nothing managed, is read at plan, and only a new id
// (a new tunnel: unknown until apply) makes it unknown and replaces the droplet, as it must.
// The 0.2.0 wiring is derived from the library's JSON (tunnelIdStraightFromTunnel) to show the
// failure the tests would catch.
import { writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdktf';
import {
  describeReal, libraryStack, makeTempDir, NEEDS, removeTempDirs, Shape, SHAPES, standIn, StandIn, terraform, TerraformJson,
  tfApplyOk, tfInit, tfPlan, tfState, tunnelIdStraightFromTunnel,
} from './helpers';

const TOKEN = 'cloudflare_zero_trust_tunnel_cloudflared_token';
const TUNNEL = 'cloudflare_zero_trust_tunnel_cloudflared';
const DROPLET = 'digitalocean_droplet';
const DEFERRED = 'read_because_dependency_pending';

/** the library's JSON for `shape`. */
function synth(shape: Shape, props: Record<string, unknown> = {}): TerraformJson {
  return JSON.parse(Testing.synth(libraryStack(shape, props)));
}

/**
 * The shape the library synthesizes, for every token data source: a local
 * `<tunnel scope>_TunnelId_<hash>` (construct "TunnelId" beside "Tunnel" and "Token") that is
 * exactly its own tunnel's id, and the token's tunnel_id that local; nothing else on the token (no
 * lifecycle, no depends_on: either would bring the deferral back), and no resource in between.
 */
function expectTokenWiring(json: TerraformJson): void {
  const tokens = Object.entries<any>(json.data[TOKEN]);
  expect(tokens.length).toBeGreaterThan(0);
  const locals = new Set<string>();
  for (const [name, token] of tokens) {
    const scope = name.replace(/_Token_[0-9A-F]{8}$/, '');
    const [tunnelName] = Object.keys(json.resource[TUNNEL]).filter((t) => t.replace(/_Tunnel_[0-9A-F]{8}$/, '_Tunnel') === scope);
    expect(tunnelName).toBeDefined();
    const local = /^\$\{local\.([\w-]+)\}$/.exec(token.tunnel_id)?.[1];
    expect(local).toMatch(new RegExp(`^${scope}_TunnelId_[0-9A-F]{8}$`));
    expect(json.locals[local!]).toBe(`\${${TUNNEL}.${tunnelName}.id}`);
    expect(Object.keys(token).sort()).toEqual(['account_id', 'tunnel_id']);
    locals.add(local!);
  }
  expect(locals.size).toBe(tokens.length);
  expect(Object.keys(json.resource.terraform_data ?? {}).filter((n) => /_TunnelId_/.test(n))).toEqual([]);
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

  /** deploys `json` (one droplet), renames its tunnel in the dashboard: the token's read is deferred and the droplet replaced. */
  function expectRenameDefersTokenAndReplacesDroplet(json: TerraformJson): void {
    const s = standIn(json);
    const dir = deploy(s);
    const [tunnel] = s.resourcesOf(TUNNEL);
    driftName(dir, tunnel.address);
    const plan = tfPlan(dir);
    expect(plan.changes.get(s.dataOf(TOKEN)[0].address)!.reason).toBe(DEFERRED);
    expect(plan.actions(s.resourcesOf(DROPLET)[0].address)).toBe('create,delete');
  }

  describe('a hand-made stand-in of the two wirings, side by side', () => {
    // tunnel, token, a droplet whose user_data holds the token, and a kept droplet that
    // DropletTrust replaces (userDataCausesReplacement false); `throughLocal` picks the wiring.
    const config = (tunnelName: string, throughLocal: boolean) => ({
      ...(throughLocal ? { locals: { tunnel_id: '${terraform_data.tunnel.id}' } } : {}),
      resource: {
        terraform_data: {
          tunnel: { input: { name: tunnelName }, triggers_replace: { account_id: 'acc123', config_src: 'cloudflare' } },
          droplet: { triggers_replace: { user_data: 'TUNNEL_TOKEN=${data.terraform_remote_state.token.outputs.token}' } },
          trust: { triggers_replace: { tunnel_token: '${data.terraform_remote_state.token.outputs.token}' } },
          kept: { triggers_replace: { user_data: 'TUNNEL_TOKEN=${data.terraform_remote_state.token.outputs.token}' }, lifecycle: { ignore_changes: ['triggers_replace'], replace_triggered_by: ['terraform_data.trust'] } },
        },
      },
      data: {
        terraform_remote_state: {
          token: {
            backend: 'local', config: { path: 'token.tfstate' },
            defaults: { account_id: 'acc123', tunnel_id: throughLocal ? '${local.tunnel_id}' : '${terraform_data.tunnel.id}' },
          },
        },
      },
    });

    function renamePlan(throughLocal: boolean) {
      const dir = makeTempDir('token-by-hand');
      const token = { version: 4, terraform_version: '1.11.4', serial: 1, lineage: 'by-hand', outputs: { token: { value: 'token-1', type: 'string' } }, resources: [] };
      writeFileSync(join(dir, 'token.tfstate'), JSON.stringify(token));
      writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(config('web', throughLocal)));
      tfInit(dir);
      tfApplyOk(dir);
      writeFileSync(join(dir, 'main.tf.json'), JSON.stringify(config('web-renamed', throughLocal)));
      return tfPlan(dir);
    }

    test('0.2.0 wiring (documented failure): renaming the tunnel in place defers the token and replaces both droplets', () => {
      const plan = renamePlan(false);
      expect(plan.actions('terraform_data.tunnel')).toBe('update');
      expect(plan.actions('data.terraform_remote_state.token')).toBe('read');
      expect(plan.changes.get('data.terraform_remote_state.token')!.reason).toBe(DEFERRED);
      expect(plan.text).toMatch(/depends on a resource or a module with changes pending/);
      expect(plan.actions('terraform_data.droplet')).toBe('delete,create');
      expect(plan.actions('terraform_data.trust')).toBe('delete,create');
      expect(plan.actions('terraform_data.kept')).toBe('delete,create');
      expect(plan.changes.get('terraform_data.kept')!.reason).toBe('replace_by_triggers');
    });

    test('through a local: the same rename reads the token at plan and keeps both droplets', () => {
      const plan = renamePlan(true);
      expect(plan.actions('terraform_data.tunnel')).toBe('update');
      expect(plan.changes.has('data.terraform_remote_state.token')).toBe(false);
      for (const r of ['droplet', 'trust', 'kept']) expect(plan.actions(`terraform_data.${r}`)).toBe('no-op');
    });
  });

  describe('the library output', () => {
    test('reads each tunnel id through a local, in every shape', () => {
      for (const shape of SHAPES) expectTokenWiring(synth(shape));
    });

    test.each(['self-hosted', 'fleet-infrastructure'] as Shape[])('%s: a tunnel renamed in the dashboard, or in the stack, changes the tunnel in place and nothing else', (shape) => {
      const s = standIn(synth(shape));
      const dir = deploy(s);
      const tunnels = s.resourcesOf(TUNNEL).map((t) => t.address);
      const droplets = s.resourcesOf(DROPLET).map((d) => d.address);
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

    test('as 0.2.0 wired it, tunnel_id straight from the tunnel (documented failure): the dashboard rename defers the token and replaces the droplet', () => {
      expectRenameDefersTokenAndReplacesDroplet(tunnelIdStraightFromTunnel(synth('self-hosted')));
    });

    test.each(['self-hosted', 'fleet'] as Shape[])('%s: a new tunnel gives a new token and replaces its droplet (only its own)', (shape) => {
      const s = standIn(synth(shape));
      const [token] = s.dataOf(TOKEN);
      const dir = deploy(s, { [token.original]: 'token-of-the-first-tunnel' });
      const [tunnel] = s.resourcesOf(TUNNEL);
      const droplets = s.resourcesOf(DROPLET).map((d) => d.address);
      const mine = droplets.find((d) => d.split('.')[1].startsWith(tunnel.name.replace(/_Tunnel_[0-9A-F]{8}$/, '')))!;
      const before = tfState(dir);

      // a new tunnel has a new token: what Cloudflare answers once it exists.
      s.setDataOutputs(dir, token.original, { values: { token: 'token-of-the-second-tunnel' } });
      const plan = tfPlan(dir, [`-replace=${tunnel.address}`]);
      // create_before_destroy on the droplet is forced onto the tunnel it depends on (see
      // replacement-order-terraform.test.ts for what that means in Cloudflare).
      expect(plan.actions(tunnel.address)).toBe('create,delete');
      expect(plan.actions(token.address)).toBe('read');
      expect(plan.changes.get(token.address)!.reason).toBe('read_because_config_unknown');
      expect(plan.actions(mine)).toBe('create,delete');
      for (const other of droplets.filter((d) => d !== mine)) expect(plan.actions(other)).toBe('no-op');
      tfApplyOk(dir, [`-replace=${tunnel.address}`]);
      const after = tfState(dir);
      expect(after.get(mine)!.id).not.toBe(before.get(mine)!.id);
      expect(after.get(mine)!.attributes.triggers_replace.value.user_data).toContain('TUNNEL_TOKEN=token-of-the-second-tunnel');
    });

    test('userDataCausesReplacement false: DropletTrust keeps the droplet across a rename and replaces it with a new tunnel', () => {
      const s = standIn(synth('infrastructure', { userDataCausesReplacement: false }));
      const dir = deploy(s);
      const [tunnel] = s.resourcesOf(TUNNEL);
      const [droplet] = s.resourcesOf(DROPLET);
      driftName(dir, tunnel.address);
      expect(tfPlan(dir).actions(droplet.address)).toBe('no-op');
      const replaced = tfPlan(dir, [`-replace=${tunnel.address}`]);
      expect(replaced.actions(droplet.address)).toBe('create,delete');
      expect(replaced.changes.get(droplet.address)!.reason).toBe('replace_by_triggers');
    });

    test('a condition on the token data source brings the deferral back, local or not (terraform then checks indirect dependencies)', () => {
      const json = synth('self-hosted');
      for (const d of Object.values<any>(json.data[TOKEN])) d.lifecycle = { postcondition: [{ condition: '${self.token != ""}', error_message: 'no token' }] };
      expectRenameDefersTokenAndReplacesDroplet(json);
    });
  });
});
