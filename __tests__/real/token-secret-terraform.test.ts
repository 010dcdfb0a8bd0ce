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
import { Testing } from 'cdktf';
import {
  describeReal, fakeTunnelToken, libraryStack, makeTempDir, markTokenSensitive, NEEDS, removeTempDirs, Shape,
  standIn, StandIn, StandInOptions, TerraformJson, tfApplyOk, tfInit, tfPlan, trustInTriggersReplace,
  wireTokenThroughTerraformData,
} from './helpers';

const TOKEN = 'cloudflare_zero_trust_tunnel_cloudflared_token';
const OTHER_CA = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl rotated@example';

interface Wiring {
  /** markTokenSensitive: the step Fn.sensitive(token) in the host builders takes over. */
  readonly sensitive?: boolean;
  /** trustInTriggersReplace: the step applyDropletExtras takes over (DropletTrust's shape). */
  readonly trustInTriggers?: boolean;
}

/** the library's JSON for `shape` with the wiring of this issue (all on unless turned off). */
function synth(shape: Shape, props: Record<string, unknown> = {}, w: Wiring = {}): TerraformJson {
  const stack = libraryStack(shape, props);
  wireTokenThroughTerraformData(stack);
  let json = JSON.parse(Testing.synth(stack));
  if (w.sensitive ?? true) json = markTokenSensitive(json);
  if (w.trustInTriggers ?? true) json = trustInTriggersReplace(json);
  return json;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describeReal('the tunnel token in plans under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  describe('the tunnel token never shows in a plan', () => {
    /**
     * deploys what the token and the CA key come from (tunnel, TunnelId, certificates), so the next
     * plan reads the token (known) and plans every resource it flows into; returns the directory.
     */
    function tunnelFirst(s: StandIn, token: string): string {
      const dir = makeTempDir('token-secret');
      s.write(dir, Object.fromEntries(s.dataOf(TOKEN).map((d) => [d.original, { values: { token } }])));
      tfInit(dir);
      const first = [
        ...Object.keys(s.config.resource.terraform_data).filter((n) => /_TunnelId_/.test(n)).map((n) => `terraform_data.${n}`),
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
        ...s.resourcesOf('digitalocean_droplet').map((d) => [d.address, 'user_data'] as const),
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
      const tunnel = `-replace=${s.resourcesOf('cloudflare_zero_trust_tunnel_cloudflared')[0].address}`;
      expect(planText(s, dir, [tunnel])).not.toContain(token);
      tfApplyOk(dir, [tunnel]);
      const later = planText(s, dir, [tunnel]);
      expect(later).not.toContain(token);
      expect(later).not.toContain(next);
    });

    test('without sensitive() (0.2.0, provider 5.14) the plan prints the token (so these tests can fail)', () => {
      const token = fakeTunnelToken();
      const s = standIn(synth('self-hosted', { userDataCausesReplacement: false }, { sensitive: false }));
      const text = planText(s, tunnelFirst(s, token), [], true);
      expect(text).toContain(`TUNNEL_TOKEN=${token}`);
      expect(text).toMatch(new RegExp(`tunnel_token\\s+= "${escapeRegExp(token)}"`));
    });

    test('sensitive() with the token in DropletTrust\'s input (documented failure): the next plan that changes it prints the old token through output', () => {
      const token = fakeTunnelToken();
      const props = { userDataCausesReplacement: false };
      const s = standIn(synth('infrastructure', props, { trustInTriggers: false }));
      const dir = tunnelFirst(s, token);
      expect(tfPlan(dir).text).not.toContain(token);
      tfApplyOk(dir);
      standIn(synth('infrastructure', { ...props, infrastructureCaPublicKey: OTHER_CA }, { trustInTriggers: false })).write(dir);
      expect(tfPlan(dir).text).toMatch(new RegExp(`- tunnel_token\\s+= "${escapeRegExp(token)}"`));
    });

    test('a provider that marks the token (5.17+) hides it without sensitive(), modelled by sensitiveAttributes', () => {
      const token = fakeTunnelToken();
      const opts: StandInOptions = { sensitiveAttributes: { [TOKEN]: ['token'] } };
      const s = standIn(synth('self-hosted', { userDataCausesReplacement: false }, { sensitive: false }), opts);
      expect(planText(s, tunnelFirst(s, token), [], true)).not.toContain(token);
    });
  });

  describe('what the switch-over costs a deployed 0.2.0 stack', () => {
    function upgrade(props: Record<string, unknown>) {
      const s = standIn(synth('self-hosted', props, { sensitive: false, trustInTriggers: false }));
      const dir = makeTempDir('secret-upgrade');
      s.write(dir);
      tfInit(dir);
      tfApplyOk(dir);
      standIn(synth('self-hosted', props)).write(dir);
      return { plan: tfPlan(dir), droplet: s.resourcesOf('digitalocean_droplet')[0].address };
    }

    test('default: sensitive() on user_data only changes its marks, an in-place update of the droplet', () => {
      const { plan, droplet } = upgrade({});
      expect(plan.actions(droplet)).toBe('update');
    });

    test('userDataCausesReplacement false: DropletTrust changes (marks, then shape), and replace_triggered_by replaces the droplet once', () => {
      const { plan, droplet } = upgrade({ userDataCausesReplacement: false });
      expect(plan.actions(droplet)).toBe('delete,create');
      expect(plan.changes.get(droplet)!.reason).toBe('replace_by_triggers');
    });
  });
});
