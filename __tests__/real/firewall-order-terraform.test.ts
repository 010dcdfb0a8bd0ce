// issue 19.5 (first point) with REAL terraform on the stand-in of the library's output: the
// droplet depends on its firewall, so when the firewall cannot be created, no droplet is. Without
// it (0.2.0) the droplet and the firewall only share a tag, terraform creates them side by side,
// and a failed firewall leaves a droplet behind.
import { Testing } from 'cdktf';
import {
  describeReal, dropletsAfterFirewall, libraryStack, makeTempDir, NEEDS, removeTempDirs, Shape, standIn, TerraformJson, tfApply,
  tfInit, tfState, wireTokenThroughTerraformData,
} from './helpers';

/**
 * the library's JSON for `shape`; `dropletsAfterFirewall` is the step the host builders take over
 * (defineDroplet given the firewall, as depends_on).
 */
function synth(shape: Shape, firewallFirst = true): TerraformJson {
  const stack = libraryStack(shape);
  wireTokenThroughTerraformData(stack);
  if (firewallFirst) dropletsAfterFirewall(stack);
  return JSON.parse(Testing.synth(stack));
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

  /** deploys `shape` with a firewall whose creation fails; returns the result and the state. */
  function failFirewall(shape: Shape, firewallFirst: boolean) {
    const s = standIn(synth(shape, firewallFirst));
    const [firewall] = s.resourcesOf('digitalocean_firewall');
    // the firewall's creation fails (the API refuses it): its stand-in exits 1 once created.
    s.config.resource.terraform_data[firewall.name].provisioner = [{ 'local-exec': { command: 'echo "firewall refused" >&2; exit 1' } }];
    const dir = makeTempDir('firewall-first');
    s.write(dir);
    tfInit(dir);
    return { s, r: tfApply(dir), state: tfState(dir) };
  }

  test.each(['self-hosted', 'fleet'] as Shape[])('%s: when the firewall fails, no droplet is created', (shape) => {
    const { s, r, state } = failFirewall(shape, true);
    expect(r.ok).toBe(false);
    expect(r.output).toMatch(/local-exec provisioner error/);
    for (const d of s.resourcesOf('digitalocean_droplet')) {
      expect(r.events.filter((e) => e.address === d.address)).toEqual([]);
      expect(state.has(d.address)).toBe(false);
    }
  });

  test('0.2.0 (no depends_on, the tag joins them): the droplet is created and the firewall error comes with it', () => {
    const { s, r, state } = failFirewall('self-hosted', false);
    expect(r.ok).toBe(false);
    expect(state.has(s.resourcesOf('digitalocean_droplet')[0].address)).toBe(true);
  });
});
