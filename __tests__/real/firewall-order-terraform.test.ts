// issue 19.5 (first point) with REAL terraform on the stand-in of the library's output: the
// droplet depends on its firewall, so when the firewall cannot be created, no droplet is. Without
// it (0.2.0, derived from the library's JSON by withoutFirewallDependsOn) the droplet and the
// firewall only share a tag, terraform creates them side by side, and a failed firewall leaves a
// droplet behind.
import { Testing } from 'cdktf';
import {
  describeReal, libraryStack, makeTempDir, NEEDS, removeTempDirs, Shape, standIn, TerraformJson, tfApply, tfInit, tfState,
  withoutFirewallDependsOn,
} from './helpers';

/** the library's JSON for `shape`. */
function synth(shape: Shape): TerraformJson {
  return JSON.parse(Testing.synth(libraryStack(shape)));
}

describeReal('no droplet without its firewall, under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  test('the library synthesizes depends_on from each droplet to its firewall', () => {
    for (const [shape, firewall] of [['self-hosted', 'Test_Firewall_'], ['fleet-infrastructure', 'Fleet_Firewall_']] as const) {
      const json = synth(shape);
      const [name] = Object.keys(json.resource.digitalocean_firewall);
      expect(name.startsWith(firewall)).toBe(true);
      for (const d of Object.values<any>(json.resource.digitalocean_droplet)) expect(d.depends_on).toEqual([`digitalocean_firewall.${name}`]);
    }
  });

  /** deploys `json` with a firewall whose creation fails; returns the result and the state. */
  function failFirewall(json: TerraformJson) {
    const s = standIn(json);
    const [firewall] = s.resourcesOf('digitalocean_firewall');
    // the firewall's creation fails (the API refuses it): its stand-in exits 1 once created.
    s.config.resource.terraform_data[firewall.name].provisioner = [{ 'local-exec': { command: 'echo "firewall refused" >&2; exit 1' } }];
    const dir = makeTempDir('firewall-first');
    s.write(dir);
    tfInit(dir);
    return { s, r: tfApply(dir), state: tfState(dir) };
  }

  test.each(['self-hosted', 'fleet'] as Shape[])('%s: when the firewall fails, no droplet is created', (shape) => {
    const { s, r, state } = failFirewall(synth(shape));
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/local-exec provisioner error/);
    for (const d of s.resourcesOf('digitalocean_droplet')) {
      expect(r.events.filter((e) => e.address === d.address)).toEqual([]);
      expect(state.has(d.address)).toBe(false);
    }
  });

  test('as 0.2.0 wired it, without depends_on (documented failure): the droplet is created and the firewall error comes with it', () => {
    const { s, r, state } = failFirewall(withoutFirewallDependsOn(synth('self-hosted')));
    expect(r.ok).toBe(false);
    expect(state.has(s.resourcesOf('digitalocean_droplet')[0].address)).toBe(true);
  });
});
