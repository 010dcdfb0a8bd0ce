// lib/build (access.ts: accessCaVersion; droplet.ts: userDataCausesReplacement) with REAL
// terraform, on the stand-in of an AccessDroplet's own JSON (helpers/stand-in.ts): which changes
// replace the droplet and the Access CA, and which replace nothing. The user_data change here is
// one that stays in user_data (the packages of extraCloudConfig), not the users.
import { Testing } from 'cdktf';
import { AccessDroplet, AccessDropletProps } from '../../lib';
import { describeReal, makeTempDir, NEEDS, Plan, removeTempDirs, standIn, tfApplyOk, tfInit, tfPlan, tfState } from './helpers';

const CERTIFICATE = 'cloudflare_zero_trust_access_short_lived_certificate';
const DROPLET = 'digitalocean_droplet';

interface Step {
  readonly packages: string[];
  readonly caVersion?: string;
  readonly userDataCausesReplacement?: boolean;
}

/** what an AccessDroplet with these props synthesizes. */
function synth(step: Step): string {
  return Testing.synthScope((s) => new AccessDroplet(s, 'Test', {
    accountId: 'acc123', zoneId: 'zone123', hostname: 'droplet.widgetcorp.tech', users: ['ann@x.io'],
    extraCloudConfig: { packages: step.packages },
    accessCaVersion: step.caVersion, userDataCausesReplacement: step.userDataCausesReplacement,
  } as AccessDropletProps));
}

describeReal('replacement wiring under real terraform', [NEEDS.terraform], () => {
  let dir: string;
  let initialised: boolean;
  beforeEach(() => {
    dir = makeTempDir('replacement');
    initialised = false;
  });
  afterEach(() => removeTempDirs());

  /** plans and applies a step; returns the plan, its actions on certificate and droplet (and why the droplet's), and their ids after it. */
  function apply(step: Step): { certificate: string; droplet: string; plan: Plan; actions: { certificate: string; droplet: string }; dropletReason?: string } {
    const s = standIn(synth(step));
    s.write(dir);
    if (!initialised) tfInit(dir);
    initialised = true;
    const certificate = s.resourcesOf(CERTIFICATE)[0].address;
    const droplet = s.resourcesOf(DROPLET)[0].address;
    const plan = tfPlan(dir);
    tfApplyOk(dir);
    const state = tfState(dir);
    return {
      certificate: state.get(certificate)!.id, droplet: state.get(droplet)!.id, plan,
      actions: { certificate: plan.actions(certificate), droplet: plan.actions(droplet) }, dropletReason: plan.changes.get(droplet)?.reason,
    };
  }
  const ids = (r: { certificate: string; droplet: string }) => ({ certificate: r.certificate, droplet: r.droplet });

  test('by default an extraCloudConfig change replaces the droplet; a new accessCaVersion replaces the CA and the droplet; no change replaces nothing', () => {
    const v1 = apply({ packages: ['htop'], caVersion: '1' });
    const again = apply({ packages: ['htop'], caVersion: '1' });
    expect(ids(again)).toEqual(ids(v1));
    expect(again.plan.changes.size).toBeGreaterThan(0);
    expect([...again.plan.changes.values()].filter((c) => c.actions.join() !== 'no-op')).toEqual([]);

    const morePackages = apply({ packages: ['htop', 'jq'], caVersion: '1' });
    expect(morePackages.certificate).toBe(v1.certificate);
    expect(morePackages.droplet).not.toBe(v1.droplet);
    // accessCaVersion turns create_before_destroy off (one CA per application): destroy first.
    expect(morePackages.actions).toEqual({ certificate: 'no-op', droplet: 'delete,create' });

    const v2 = apply({ packages: ['htop', 'jq'], caVersion: '2' });
    expect(v2.certificate).not.toBe(v1.certificate);
    expect(v2.droplet).not.toBe(morePackages.droplet);
    expect(v2.actions).toEqual({ certificate: 'delete,create', droplet: 'delete,create' });
  });

  test('without accessCaVersion an extraCloudConfig change creates the new droplet before destroying the old one', () => {
    const v1 = apply({ packages: ['htop'] });
    const morePackages = apply({ packages: ['htop', 'jq'] });
    expect(morePackages.droplet).not.toBe(v1.droplet);
    expect(morePackages.actions).toEqual({ certificate: 'no-op', droplet: 'create,delete' });
  });

  test('userDataCausesReplacement false keeps the droplet on an extraCloudConfig change, and still replaces it with the CA', () => {
    const keep = { userDataCausesReplacement: false };
    const v1 = apply({ ...keep, packages: ['htop'], caVersion: '1' });
    const morePackages = apply({ ...keep, packages: ['htop', 'jq'], caVersion: '1' });
    expect(ids(morePackages)).toEqual(ids(v1));
    const v2 = apply({ ...keep, packages: ['htop', 'jq'], caVersion: '2' });
    expect(v2.certificate).not.toBe(v1.certificate);
    expect(v2.droplet).not.toBe(v1.droplet);
    expect(v2.actions).toEqual({ certificate: 'delete,create', droplet: 'delete,create' });
    expect(v2.dropletReason).toBe('replace_by_triggers');
    expect(ids(apply({ ...keep, packages: ['htop', 'jq', 'tmux'], caVersion: '2' }))).toEqual(ids(v2));
  });

  test('setting accessCaVersion the first time on a deployed stack replaces nothing; changing it then rotates, old CA destroyed first', () => {
    // deployed with create_before_destroy (the default without accessCaVersion), which terraform
    // also forced onto the certificate and recorded in the state.
    const before = apply({ packages: ['htop'] });
    const first = apply({ packages: ['htop'], caVersion: '1' });
    // terraform: creating the terraform_data that replace_triggered_by names does not trigger it.
    expect(ids(first)).toEqual(ids(before));
    const second = apply({ packages: ['htop'], caVersion: '2' });
    expect(second.certificate).not.toBe(before.certificate);
    expect(second.droplet).not.toBe(before.droplet);
    // the configuration decides, not what the state recorded: the old CA goes before the new one comes.
    expect(second.actions).toEqual({ certificate: 'delete,create', droplet: 'delete,create' });
  });
});
