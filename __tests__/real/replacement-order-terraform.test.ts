// issue 18.2 with REAL terraform on the stand-in of the library's output: a droplet that must be
// replaced is created before the old one is destroyed (create_before_destroy, the default), except
// with volumes or accessCaVersion; dropletPreventDestroy turns any plan that would destroy a droplet
// into terraform's error. 0.2.0's order is derived from the library's JSON (withoutCreateBeforeDestroy).
//
// What create_before_destroy does around the droplet (terraform v1.11.4):
// - dependents (project resources, the readiness wait, infrastructure mode's route and target)
//   are updated or re-created between the new droplet's creation and the old one's destruction
//   (CBDEdgeTransformer: "Destroy for A must depend on resources that depend on A");
// - every resource the droplet depends on, directly or not, is forced to create_before_destroy
//   too (ForcedCBDTransformer: "If the node has a dependent that is CBD, then we must force it
//   on"). That reaches the Access CA (hence the library refuses it with accessCaVersion: Cloudflare
//   keeps one CA per application) and the tunnel (a tunnel replaced on purpose meets the old one's
//   name): see the last tests.
import { Testing } from 'cdktf';
import {
  ApplyEvent, describeReal, libraryStack, makeTempDir, NEEDS, removeTempDirs, Shape, SHAPES, standIn, StandIn, TerraformJson, tfApply,
  tfApplyOk, tfInit, tfPlan, tfPlanResult, tfState, withoutCreateBeforeDestroy,
} from './helpers';

const DROPLET = 'digitalocean_droplet';
const VOLUME = '506f78a4-e098-11e5-ad9f-000f53306ae1';

/** the library's JSON for `shape` (with the readiness wait and a project, whose resources depend on the droplet). */
function synth(shape: Shape, props: Record<string, unknown> = {}): TerraformJson {
  return JSON.parse(Testing.synth(libraryStack(shape, { waitForReady: true, projectId: 'proj1', ...props })));
}

/**
 * what the library refuses (dropletCreateBeforeDestroy with volumeIds or accessCaVersion), made by
 * hand to show why: create_before_destroy on every droplet.
 */
function forceCreateBeforeDestroy(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  for (const d of Object.values<any>(out.resource[DROPLET])) {
    expect(d.lifecycle?.create_before_destroy).toBeUndefined();
    d.lifecycle = { ...d.lifecycle, create_before_destroy: true };
  }
  return out;
}

/** index of the first event matching. */
function at(events: ApplyEvent[], address: string, type: string, action: string, message?: string): number {
  const i = events.findIndex((e) => e.address === address && e.type === type && e.action === action && (!message || e.message.includes(message)));
  if (i < 0) throw new Error(`no ${type} ${action} of ${address}:\n${events.map((e) => e.message).join('\n')}`);
  return i;
}

describeReal('replacing droplets under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  function deploy(s: StandIn): string {
    const dir = makeTempDir('replacement-order');
    s.write(dir);
    tfInit(dir);
    tfApplyOk(dir);
    return dir;
  }

  test('the library synthesizes create_before_destroy on every droplet by default, not with volumes or accessCaVersion, and prevent_destroy when asked', () => {
    const lifecycles = (props: Record<string, unknown>, shape: Shape = 'self-hosted') => Object.values<any>(synth(shape, props).resource[DROPLET]).map((d) => d.lifecycle);
    for (const shape of SHAPES) for (const l of lifecycles({}, shape)) expect(l).toEqual({ create_before_destroy: true });
    expect(lifecycles({ volumeIds: [VOLUME] })).toEqual([undefined]);
    expect(lifecycles({ accessCaVersion: '1' })).toEqual([undefined]);
    expect(lifecycles({ dropletPreventDestroy: true }, 'fleet')).toEqual([
      { create_before_destroy: true, prevent_destroy: true }, { create_before_destroy: true, prevent_destroy: true },
    ]);
    // the opt-out is 0.2.0's order, exactly.
    expect(synth('fleet', { dropletCreateBeforeDestroy: false })).toEqual(withoutCreateBeforeDestroy(synth('fleet')));
    expect(() => synth('self-hosted', { volumeIds: [VOLUME], dropletCreateBeforeDestroy: true })).toThrow(/cannot be true with volumeIds/);
    expect(() => synth('self-hosted', { accessCaVersion: '1', dropletCreateBeforeDestroy: true })).toThrow(/cannot be true with accessCaVersion/);
  });

  test.each(SHAPES)('%s: a new image creates each new droplet, then updates what depends on it, and only then destroys the old one', (shape) => {
    const s = standIn(synth(shape));
    const dir = deploy(s);
    const old = tfState(dir);
    standIn(synth(shape, { image: 'debian-12-x64' })).write(dir);
    const plan = tfPlan(dir);
    const events = tfApplyOk(dir);

    for (const droplet of s.resourcesOf(DROPLET)) {
      expect(plan.actions(droplet.address)).toBe('create,delete');
      const created = at(events, droplet.address, 'apply_complete', 'create');
      const destroying = at(events, droplet.address, 'apply_start', 'delete', old.get(droplet.address)!.id);
      expect(created).toBeLessThan(destroying);
      // everything that reads the droplet is done before the old one goes.
      const dependents = [...plan.changes.values()].filter((c) => c.actions.join() !== 'no-op' && c.address !== droplet.address &&
        JSON.stringify(s.config.resource.terraform_data[c.address.split('.')[1]] ?? {}).includes(`${droplet.address}.`));
      expect(dependents.length).toBeGreaterThan(0);
      // the readiness wait among them: it counts only connectors started since the new droplet's
      // created_at (WAIT_SINCE), so the old droplet goes once the new one is reachable.
      expect(dependents.filter((d) => /WaitForReady/.test(d.address))).toHaveLength(1);
      for (const dep of dependents) {
        const last = dep.actions[dep.actions.length - 1] === 'create' ? 'create' : 'update';
        expect(at(events, dep.address, 'apply_complete', last)).toBeLessThan(destroying);
      }
    }
  });

  test('what the droplet replacement does to its dependents: project and route and target update in place, the readiness wait is re-created (destroy first)', () => {
    const infra = standIn(synth('infrastructure'));
    const dir = deploy(infra);
    standIn(synth('infrastructure', { image: 'debian-12-x64' })).write(dir);
    const plan = tfPlan(dir);
    const one = (type: string) => infra.resourcesOf(type)[0].address;
    expect(plan.actions(one('digitalocean_project_resources'))).toBe('update');
    expect(plan.actions(one('cloudflare_zero_trust_tunnel_cloudflared_route'))).toBe('update');
    expect(plan.actions(one('cloudflare_zero_trust_access_infrastructure_target'))).toBe('update');
    // not forced: only what a create_before_destroy resource depends on is.
    expect(plan.actions(one('null_resource'))).toBe('delete,create');
  });

  test('as 0.2.0 replaced them, without create_before_destroy (documented failure): the old droplet is destroyed before the new one exists', () => {
    const s = standIn(withoutCreateBeforeDestroy(synth('self-hosted')));
    const dir = deploy(s);
    standIn(withoutCreateBeforeDestroy(synth('self-hosted', { image: 'debian-12-x64' }))).write(dir);
    const events = tfApplyOk(dir);
    const [droplet] = s.resourcesOf(DROPLET);
    expect(at(events, droplet.address, 'apply_complete', 'delete')).toBeLessThan(at(events, droplet.address, 'apply_start', 'create'));
  });

  test('a volume attaches to one droplet only: the library\'s destroy-then-create moves it, create_before_destroy (refused) would fail on the second attach', () => {
    // the volume's single attachment, modelled by a lock file each droplet takes when created and
    // gives back when destroyed (DigitalOcean refuses to attach a volume that is attached).
    const lock = (json: TerraformJson, forceCbd: boolean) => {
      const s = standIn(forceCbd ? forceCreateBeforeDestroy(json) : json);
      const d = s.config.resource.terraform_data[s.resourcesOf(DROPLET)[0].name];
      d.provisioner = [
        { 'local-exec': { command: `set -C; mkdir -p volumes; : > volumes/\${join(" ", self.input.volume_ids)}` } },
        { 'local-exec': { when: 'destroy', command: `rm -f volumes/\${join(" ", self.input.volume_ids)}` } },
      ];
      return s;
    };
    for (const forceCbd of [false, true]) {
      const dir = deploy(lock(synth('self-hosted', { volumeIds: [VOLUME] }), forceCbd));
      lock(synth('self-hosted', { volumeIds: [VOLUME], image: 'debian-12-x64' }), forceCbd).write(dir);
      const r = tfApply(dir);
      expect(r.ok).toBe(!forceCbd);
      if (forceCbd) expect(r.output).toMatch(/local-exec provisioner error/);
    }
  });

  test('dropletPreventDestroy: a plan that would replace or destroy a droplet fails with terraform\'s error; an in-place change still plans', () => {
    const protect = { dropletPreventDestroy: true };
    const s = standIn(synth('fleet', protect));
    const dir = deploy(s);
    const [droplet] = s.resourcesOf(DROPLET);
    standIn(synth('fleet', { ...protect, image: 'debian-12-x64' })).write(dir);
    const replace = tfPlanResult(dir);
    expect(replace.status).toBe(1);
    expect(replace.stderr).toMatch(/Error: Instance cannot be destroyed/);
    expect(replace.stderr.replace(/\s+/g, ' ')).toContain(`Resource ${droplet.address} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed`);
    expect(tfPlanResult(dir, ['-destroy']).stderr).toMatch(/Instance cannot be destroyed/);
    standIn(synth('fleet', { ...protect, size: 's-2vcpu-2gb' })).write(dir);
    expect(tfPlanResult(dir).status).toBe(2);
  });

  describe('what create_before_destroy forces on the resources the droplet depends on', () => {
    test('accessCaVersion: the library destroys the old CA (and droplet) first; create_before_destroy (refused) would create the new CA while the old one exists', () => {
      const certificateOf = (s: StandIn) => s.resourcesOf('cloudflare_zero_trust_access_short_lived_certificate')[0].address;
      const s = standIn(synth('self-hosted', { accessCaVersion: '1' }));
      const dir = deploy(s);
      standIn(synth('self-hosted', { accessCaVersion: '2' })).write(dir);
      const plan = tfPlan(dir);
      expect(plan.actions(certificateOf(s))).toBe('delete,create');
      expect(plan.actions(s.resourcesOf(DROPLET)[0].address)).toBe('delete,create');
      // why it is refused: provider 5.14 creates and deletes the CA by application id
      // (POST/DELETE .../apps/{app_id}/ca), so the second create meets the first CA, and the
      // deposed delete would remove the new one.
      const forced = standIn(forceCreateBeforeDestroy(synth('self-hosted', { accessCaVersion: '1' })));
      const dir2 = deploy(forced);
      standIn(forceCreateBeforeDestroy(synth('self-hosted', { accessCaVersion: '2' }))).write(dir2);
      const forcedPlan = tfPlan(dir2);
      expect(forcedPlan.actions(certificateOf(forced))).toBe('create,delete');
      expect(forcedPlan.actions(forced.resourcesOf(DROPLET)[0].address)).toBe('create,delete');
    });

    test('by default a new tunnel (-replace) is created before the old one is deleted (known limit: Cloudflare refuses a second tunnel of the same name, error 1013)', () => {
      const s = standIn(synth('self-hosted'));
      const dir = deploy(s);
      const tunnel = s.resourcesOf('cloudflare_zero_trust_tunnel_cloudflared')[0].address;
      const plan = tfPlan(dir, [`-replace=${tunnel}`]);
      expect(plan.actions(tunnel)).toBe('create,delete');
      expect(plan.actions(s.resourcesOf(DROPLET)[0].address)).toBe('create,delete');
    });
  });
});
