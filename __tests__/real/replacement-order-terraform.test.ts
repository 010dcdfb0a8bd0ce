// issue 18.2 with REAL terraform on the stand-in of the library's output: a droplet that must be
// replaced is created before the old one is destroyed (create_before_destroy), except with
// volumes; prevent_destroy turns any plan that would destroy a droplet into terraform's error.
//
// What create_before_destroy does around the droplet (terraform v1.11.4):
// - dependents (project resources, the readiness wait, infrastructure mode's route and target)
//   are updated or re-created between the new droplet's creation and the old one's destruction
//   (CBDEdgeTransformer: "Destroy for A must depend on resources that depend on A");
// - every resource the droplet depends on, directly or not, is forced to create_before_destroy
//   too (ForcedCBDTransformer: "If the node has a dependent that is CBD, then we must force it
//   on"). That reaches the tunnel and the Access CA, whose replacements cannot work that way in
//   Cloudflare: see the last tests.
import { Testing } from 'cdktf';
import {
  ApplyEvent, createDropletsBeforeDestroy, describeReal, libraryStack, makeTempDir, NEEDS, protectDroplets, removeTempDirs, Shape,
  SHAPES, standIn, StandIn, TerraformJson, tfApply, tfApplyOk, tfInit, tfPlan, tfPlanResult, tfState, wireTokenThroughTerraformData,
} from './helpers';

const DROPLET = 'digitalocean_droplet';
const VOLUME = '506f78a4-e098-11e5-ad9f-000f53306ae1';

/**
 * the library's JSON for `shape`; `createDropletsBeforeDestroy` is the step lib/internal/droplet.ts
 * `defineDroplet` takes over, `protectDroplets` the one the protection prop takes over.
 */
function synth(shape: Shape, props: Record<string, unknown> = {}, opts: { cbd?: boolean; protect?: boolean } = {}): TerraformJson {
  const stack = libraryStack(shape, { waitForReady: true, projectId: 'proj1', ...props });
  wireTokenThroughTerraformData(stack);
  if (opts.cbd ?? true) createDropletsBeforeDestroy(stack);
  if (opts.protect) protectDroplets(stack);
  return JSON.parse(Testing.synth(stack));
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

  test('the library synthesizes create_before_destroy on every droplet without volumes, and not with them', () => {
    for (const shape of SHAPES) {
      for (const d of Object.values<any>(synth(shape).resource[DROPLET])) expect(d.lifecycle).toEqual({ create_before_destroy: true });
    }
    const withVolume = Object.values<any>(synth('self-hosted', { volumeIds: [VOLUME] }).resource[DROPLET])[0];
    expect(withVolume.volume_ids).toEqual([VOLUME]);
    expect(withVolume.lifecycle?.create_before_destroy).toBeUndefined();
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

  test('without create_before_destroy (0.2.0) the old droplet is destroyed before the new one exists', () => {
    const s = standIn(synth('self-hosted', {}, { cbd: false }));
    const dir = deploy(s);
    standIn(synth('self-hosted', { image: 'debian-12-x64' }, { cbd: false })).write(dir);
    const events = tfApplyOk(dir);
    const [droplet] = s.resourcesOf(DROPLET);
    expect(at(events, droplet.address, 'apply_complete', 'delete')).toBeLessThan(at(events, droplet.address, 'apply_start', 'create'));
  });

  test('a volume attaches to one droplet only: destroy-then-create moves it, create_before_destroy would fail on the second attach', () => {
    // the volume's single attachment, modelled by a lock file each droplet takes when created and
    // gives back when destroyed (DigitalOcean refuses to attach a volume that is attached).
    const lock = (json: TerraformJson, forceCbd: boolean) => {
      const s = standIn(json);
      const d = s.config.resource.terraform_data[s.resourcesOf(DROPLET)[0].name];
      d.provisioner = [
        { 'local-exec': { command: `set -C; mkdir -p volumes; : > volumes/\${join(" ", self.input.volume_ids)}` } },
        { 'local-exec': { when: 'destroy', command: `rm -f volumes/\${join(" ", self.input.volume_ids)}` } },
      ];
      if (forceCbd) d.lifecycle = { ...d.lifecycle, create_before_destroy: true };
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

  test('prevent_destroy: a plan that would replace or destroy a droplet fails with terraform\'s error; an in-place change still plans', () => {
    const s = standIn(synth('fleet', {}, { protect: true }));
    const dir = deploy(s);
    const [droplet] = s.resourcesOf(DROPLET);
    standIn(synth('fleet', { image: 'debian-12-x64' }, { protect: true })).write(dir);
    const replace = tfPlanResult(dir);
    expect(replace.status).toBe(1);
    expect(replace.stderr).toMatch(/Error: Instance cannot be destroyed/);
    expect(replace.stderr.replace(/\s+/g, ' ')).toContain(`Resource ${droplet.address} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed`);
    expect(tfPlanResult(dir, ['-destroy']).stderr).toMatch(/Instance cannot be destroyed/);
    standIn(synth('fleet', { size: 's-2vcpu-2gb' }, { protect: true })).write(dir);
    expect(tfPlanResult(dir).status).toBe(2);
  });

  describe('what create_before_destroy forces on the resources the droplet depends on (surprising: see the report)', () => {
    test('a CA rotation (accessCaVersion) creates the new short-lived certificate before deleting the old one', () => {
      const s = standIn(synth('self-hosted', { accessCaVersion: '1' }));
      const dir = deploy(s);
      standIn(synth('self-hosted', { accessCaVersion: '2' })).write(dir);
      const certificate = s.resourcesOf('cloudflare_zero_trust_access_short_lived_certificate')[0].address;
      const [droplet] = s.resourcesOf(DROPLET);
      const plan = tfPlan(dir);
      // provider 5.14 creates and deletes the CA by application id (POST/DELETE .../apps/{app_id}/ca):
      // the second create meets the first CA, and the deposed delete would remove the new one.
      expect(plan.actions(certificate)).toBe('create,delete');
      expect(plan.actions(droplet.address)).toBe('create,delete');
      // control: without it on the droplet, the certificate is destroyed first.
      const dir2 = deploy(standIn(synth('self-hosted', { accessCaVersion: '1' }, { cbd: false })));
      standIn(synth('self-hosted', { accessCaVersion: '2' }, { cbd: false })).write(dir2);
      expect(tfPlan(dir2).actions(certificate)).toBe('delete,create');
    });

    test('a new tunnel is created before the old one is deleted (Cloudflare refuses a second tunnel of the same name, error 1013)', () => {
      const s = standIn(synth('self-hosted'));
      const dir = deploy(s);
      const tunnel = s.resourcesOf('cloudflare_zero_trust_tunnel_cloudflared')[0].address;
      const plan = tfPlan(dir, [`-replace=${tunnel}`]);
      expect(plan.actions(tunnel)).toBe('create,delete');
      expect(plan.actions(s.resourcesOf(DROPLET)[0].address)).toBe('create,delete');
    });
  });
});
