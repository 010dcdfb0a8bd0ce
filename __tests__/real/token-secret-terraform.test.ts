// issue 19.5 (second point) with REAL terraform on the stand-in of the library's output: the
// tunnel token never shows in a plan.
//
// The token: provider 5.14 does not mark the token data source's `token` sensitive, so it is
// printed wherever it flows unless the configuration wraps it in sensitive() (Fn.sensitive). The
// stand-in's data source reads an unmarked value, as 5.14 does. Where it flows: the droplet's
// user_data (every shape), and DropletTrust (userDataCausesReplacement false), a terraform_data.
// terraform_data copies `input` into `output` without its sensitive marks
// (hashicorp/terraform#35609): with the token in `input`, the first plan hides it and the next
// one that changes DropletTrust (a new CA key, a new tunnel) prints the old token through
// `output`. With the token in `triggers_replace` (no copy) it never shows.
// The real DigitalOcean provider stores a hash of user_data (util.HashStringStateFunc), the
// stand-in the text: the user_data checks are stricter here than terraform with the provider.
// 0.2.0's shapes (no sensitive(), the token in DropletTrust's input) are derived from the
// library's JSON (withoutSensitive, tokenInTrustInput), to show the failures these tests catch and
// what a deployed 0.2.0 stack plans when it upgrades.
import { Testing } from 'cdktf';
import {
  describeReal, fakeTunnelToken, libraryStack, makeTempDir, NEEDS, removeTempDirs, Shape, standIn, StandIn, StandInOptions,
  TerraformJson, tfApplyOk, tfInit, tfPlan, tfPlanResult, tokenInTrustInput, withoutSensitive, withReleasedWiring,
} from './helpers';

const TOKEN = 'cloudflare_zero_trust_tunnel_cloudflared_token';
const TUNNEL = 'cloudflare_zero_trust_tunnel_cloudflared';
const DROPLET = 'digitalocean_droplet';
const OTHER_CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl rotated@example';

/** the library's JSON for `shape`. */
function synth(shape: Shape, props: Record<string, unknown> = {}): TerraformJson {
  return JSON.parse(Testing.synth(libraryStack(shape, props)));
}

/** the data source outputs that give every token data source of `s` the value `token`. */
function tokens(s: StandIn, token: string) {
  return Object.fromEntries(s.dataOf(TOKEN).map((d) => [d.original, { values: { token } }]));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describeReal('the tunnel token in plans under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  describe('the tunnel token never shows in a plan', () => {
    /**
     * deploys what the token and the CA key come from (tunnels, certificates), so the next plan
     * reads the token (known) and plans every resource it flows into; returns the directory.
     */
    function tunnelFirst(s: StandIn, token: string): string {
      const dir = makeTempDir('token-secret');
      s.write(dir, tokens(s, token));
      tfInit(dir);
      const first = [
        ...s.resourcesOf(TUNNEL).map((t) => t.address),
        ...s.resourcesOf('cloudflare_zero_trust_access_short_lived_certificate').map((c) => c.address),
      ];
      tfApplyOk(dir, first.map((a) => `-target=${a}`));
      return dir;
    }

    /**
     * the text of a plan in which the token's flows change (so "not shown" means hidden, not
     * absent); with `known`, every flow changes and holds the token known (hidden, not unknown).
     */
    function planText(s: StandIn, dir: string, args: string[] = [], known = false): string {
      const plan = tfPlan(dir, args);
      const flows = [
        ...s.resourcesOf(DROPLET).map((d) => [d.address, 'user_data'] as const),
        ...Object.keys(s.config.resource.terraform_data).filter((n) => /_DropletTrust_/.test(n)).map((n) => [`terraform_data.${n}`, 'tunnel_token'] as const),
      ];
      const changing = flows.filter(([address]) => plan.changes.get(address)!.actions.join() !== 'no-op');
      expect(changing.length).toBeGreaterThan(0);
      if (known) {
        expect(changing).toEqual(flows);
        for (const [address, attribute] of flows) expect(typeof plan.changes.get(address)!.after.triggers_replace[attribute]).toBe('string');
      }
      return plan.text;
    }

    const flows: [string, Shape, Record<string, unknown>][] = [
      ['user_data, fleet in infrastructure mode', 'fleet-infrastructure', {}],
      ['user_data and DropletTrust (userDataCausesReplacement false), self-hosted', 'self-hosted', { userDataCausesReplacement: false }],
      ['user_data and DropletTrust (userDataCausesReplacement false), infrastructure', 'infrastructure', { userDataCausesReplacement: false }],
    ];

    test.each(flows)('%s: (sensitive value), never the token, in the first plan and after a new CA key or a new tunnel', (_, shape, props) => {
      const token = fakeTunnelToken();
      const s = standIn(synth(shape, props));
      const dir = tunnelFirst(s, token);
      const first = planText(s, dir, [], true);
      expect(first).toMatch(/\(sensitive value\)/);
      expect(first).not.toContain(token);
      tfApplyOk(dir);

      // a change to what DropletTrust holds besides the token (infrastructure: a rotated account CA).
      if (shape === 'infrastructure') {
        standIn(synth(shape, { ...props, infrastructureCaPublicKey: OTHER_CA })).write(dir);
        expect(planText(s, dir)).not.toContain(token);
      }
      // a new tunnel, and its new token: neither the old nor the new token shows, before or after.
      const next = fakeTunnelToken();
      for (const d of s.dataOf(TOKEN)) s.setDataOutputs(dir, d.original, { values: { token: next } });
      const tunnel = `-replace=${s.resourcesOf(TUNNEL)[0].address}`;
      expect(planText(s, dir, [tunnel])).not.toContain(token);
      tfApplyOk(dir, [tunnel]);
      const later = planText(s, dir, [tunnel]);
      expect(later).not.toContain(token);
      expect(later).not.toContain(next);
    });

    test('as 0.2.0 wrote it, without sensitive() (documented failure, provider 5.14): the plan prints the token', () => {
      const token = fakeTunnelToken();
      const s = standIn(withoutSensitive(synth('self-hosted', { userDataCausesReplacement: false })));
      const text = planText(s, tunnelFirst(s, token), [], true);
      expect(text).toContain(`TUNNEL_TOKEN=${token}`);
      expect(text).toMatch(new RegExp(`tunnel_token\\s+= "${escapeRegExp(token)}"`));
    });

    test('sensitive() with the token in DropletTrust\'s input, as 0.2.0 held it (documented failure): the next plan that changes it prints the old token through output', () => {
      const token = fakeTunnelToken();
      const props = { userDataCausesReplacement: false };
      const s = standIn(tokenInTrustInput(synth('infrastructure', props)));
      const dir = tunnelFirst(s, token);
      expect(tfPlan(dir).text).not.toContain(token);
      tfApplyOk(dir);
      standIn(tokenInTrustInput(synth('infrastructure', { ...props, infrastructureCaPublicKey: OTHER_CA }))).write(dir);
      expect(tfPlan(dir).text).toMatch(new RegExp(`- tunnel_token\\s+= "${escapeRegExp(token)}"`));
    });

    test('a provider that marks the token (5.17+) hides it without sensitive(), modelled by sensitiveAttributes', () => {
      const token = fakeTunnelToken();
      const opts: StandInOptions = { sensitiveAttributes: { [TOKEN]: ['token'] } };
      const s = standIn(withoutSensitive(synth('self-hosted', { userDataCausesReplacement: false })), opts);
      expect(planText(s, tunnelFirst(s, token), [], true)).not.toContain(token);
    });
  });

  describe('upgrading a deployed stack with 0.2.0\'s wiring (withReleasedWiring) to this release\'s', () => {
    // only the wiring differs: user_data's text is this release's on both sides (as of a37e9cc the
    // same as 0.2.0's but for sensitive()). A change of the text itself, such as users moving into
    // droplet tags (issue 18.1), replaces droplets on its own and is not measured here.
    // `next` gives the JSON planned after the upgrade (this release's, unless a test edits it).
    function upgrade(shape: Shape, props: Record<string, unknown> = {}, next = (json: any): any => json) {
      const token = fakeTunnelToken();
      const json = synth(shape, props);
      const dir = makeTempDir('wiring-upgrade');
      const old = standIn(withReleasedWiring(json));
      old.write(dir, tokens(old, token));
      tfInit(dir);
      tfApplyOk(dir);
      const s = standIn(next(json));
      s.write(dir, tokens(s, token));
      const plan = tfPlan(dir);
      const changed = [...plan.changes.values()].filter((c) => c.actions.join() !== 'no-op');
      return { s, dir, token, plan, changed };
    }

    test.each(['self-hosted', 'infrastructure', 'fleet'] as Shape[])(
      '%s: creates nothing, reads the token at plan, and updates each droplet in place for user_data\'s sensitive mark alone',
      (shape) => {
        const { s, dir, token, plan, changed } = upgrade(shape);
        // the local is no resource: nothing new, and the token is read during plan (no deferred read).
        for (const d of s.dataOf(TOKEN)) expect(plan.changes.has(d.address)).toBe(false);
        // the same value, newly marked: terraform plans an update (node_resource_abstract_instance.go:
        // "If we plan to write or delete sensitive paths from state, this is an Update action"), not a
        // replacement; DigitalOcean's provider, given no changed attribute, changes nothing on the droplet.
        const droplets = s.resourcesOf(DROPLET).map((d) => d.address);
        expect(changed.map((c) => [c.address, c.actions.join()])).toEqual(droplets.map((d) => [d, 'update']));
        expect(plan.text).toMatch(/~ user_data\s+= \(sensitive value\)/);
        expect(plan.text).toMatch(/Plan: 0 to add, \d+ to change, 0 to destroy/);
        expect(plan.text).not.toContain(token);
        tfApplyOk(dir);
        expect(tfPlanResult(dir).status).toBe(0);
      },
    );

    test('userDataCausesReplacement false: DropletTrust changes shape (input to triggers_replace), which replaces the droplet once, and the plan shows the old token as it removes it', () => {
      const { s, dir, token, plan, changed } = upgrade('self-hosted', { userDataCausesReplacement: false });
      const [droplet] = s.resourcesOf(DROPLET);
      const trust = `terraform_data.${Object.keys(s.config.resource.terraform_data).find((n) => /_DropletTrust_/.test(n))}`;
      for (const d of s.dataOf(TOKEN)) expect(plan.changes.has(d.address)).toBe(false);
      expect(plan.actions(trust)).toBe('create,delete');
      expect(plan.actions(droplet.address)).toBe('create,delete');
      expect(plan.changes.get(droplet.address)!.reason).toBe('replace_by_triggers');
      expect(changed.map((c) => c.address).sort()).toEqual([droplet.address, trust].sort());
      // 0.2.0 stored the token unmarked in DropletTrust's input and output: the plan that drops them prints it.
      expect(plan.text).toMatch(new RegExp(`- tunnel_token\\s+= "${escapeRegExp(token)}"`));
      tfApplyOk(dir);
      expect(tfPlanResult(dir).status).toBe(0);
    });

    test('(not what the library does) a DropletTrust at a new address would be created without replacing the droplet', () => {
      // evidence for a cheaper upgrade: replace_triggered_by does not fire when the resource it
      // names is created, so giving the new DropletTrust a new construct id spares the droplet.
      let trustName = '';
      const { s, token, plan } = upgrade('self-hosted', { userDataCausesReplacement: false }, (json) => {
        [trustName] = Object.keys(json.resource.terraform_data).filter((n) => /_DropletTrust_/.test(n));
        return JSON.parse(JSON.stringify(json).split(trustName).join(trustName.replace('DropletTrust', 'DropletTrustV2')));
      });
      expect(plan.actions(`terraform_data.${trustName.replace('DropletTrust', 'DropletTrustV2')}`)).toBe('create');
      expect(plan.actions(`terraform_data.${trustName}`)).toBe('delete');
      expect(plan.actions(s.resourcesOf(DROPLET)[0].address)).toBe('no-op');
      // the old DropletTrust still shows the token as it goes.
      expect(plan.text).toContain(token);
    });
  });
});
