// lib/internal/droplet-extras.ts with REAL terraform: the lifecycle wiring that accessCaVersion and
// userDataCausesReplacement synthesize, on a provider-free stand-in (terraform_data for the
// certificate, the tunnel token and the droplet, whose user_data is a triggers_replace value).
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { DataResource, Testing, TerraformStack } from 'cdktf';
import { applyCaRotation, applyDropletExtras } from '../../lib/internal/droplet-extras';
import { describeReal, makeTempDir, NEEDS, removeTempDirs, terraform } from './helpers';

interface Step {
  readonly users: string;
  readonly caVersion?: string;
  readonly userDataCausesReplacement?: boolean;
}

/** the stand-in stack through the library's own wiring functions. */
function standIn(step: Step): string {
  const stack = new TerraformStack(Testing.app(), 'stand-in');
  const certificate = new DataResource(stack, 'Certificate', { input: { app: 'ssh' } });
  applyCaRotation(stack, certificate as any, step.caVersion);
  const token = new DataResource(stack, 'TunnelToken', { input: { tunnel: 't1' } });
  // user_data holds the users and the CA key (a new certificate has a new id); DigitalOcean
  // replaces a droplet whose user_data changes, as triggers_replace does.
  const droplet = new DataResource(stack, 'Droplet', { triggersReplace: { user_data: `${step.users}|${certificate.id}|${token.id}` } });
  applyDropletExtras(stack, droplet as any, { userDataCausesReplacement: step.userDataCausesReplacement }, { caPublicKey: certificate.id, tunnelToken: token.id });
  if (droplet.lifecycle?.ignoreChanges) {
    // the stand-in's user_data is triggers_replace.
    droplet.lifecycle = { ...droplet.lifecycle, ignoreChanges: ['triggers_replace'] };
  }
  return Testing.synth(stack);
}

describeReal('replacement wiring under real terraform', [NEEDS.terraform], () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('replacement');
  });
  afterEach(() => removeTempDirs());

  const tf = (args: string[]) => terraform(dir, args);
  /** applies a step; returns the ids of certificate and droplet after it. */
  function apply(step: Step): { certificate: string; droplet: string } {
    writeFileSync(join(dir, 'cdk.tf.json'), standIn(step));
    if (!readdirHasInit()) tf(['init', '-input=false', '-no-color']);
    tf(['apply', '-auto-approve', '-input=false', '-no-color']);
    const state = JSON.parse(readFileSync(join(dir, 'terraform.tfstate'), 'utf8'));
    const id = (prefix: string) => state.resources.find((r: any) => r.name.startsWith(prefix)).instances[0].attributes.id;
    return { certificate: id('Certificate'), droplet: id('Droplet') };
  }
  let initialised = false;
  function readdirHasInit() {
    const was = initialised;
    initialised = true;
    return was;
  }
  beforeEach(() => { initialised = false; });

  test('by default a user change replaces the droplet; a new accessCaVersion replaces the CA and the droplet; no change replaces nothing', () => {
    const v1 = apply({ users: 'ann', caVersion: '1' });
    const same = apply({ users: 'ann', caVersion: '1' });
    expect(same).toEqual(v1);
    const moreUsers = apply({ users: 'ann,bob', caVersion: '1' });
    expect(moreUsers.certificate).toBe(v1.certificate);
    expect(moreUsers.droplet).not.toBe(v1.droplet);
    const v2 = apply({ users: 'ann,bob', caVersion: '2' });
    expect(v2.certificate).not.toBe(v1.certificate);
    expect(v2.droplet).not.toBe(moreUsers.droplet);
  }, 120000);

  test('userDataCausesReplacement false keeps the droplet on a user change, and still replaces it with the CA', () => {
    const v1 = apply({ users: 'ann', caVersion: '1', userDataCausesReplacement: false });
    const moreUsers = apply({ users: 'ann,bob', caVersion: '1', userDataCausesReplacement: false });
    expect(moreUsers).toEqual(v1);
    const v2 = apply({ users: 'ann,bob', caVersion: '2', userDataCausesReplacement: false });
    expect(v2.certificate).not.toBe(v1.certificate);
    expect(v2.droplet).not.toBe(v1.droplet);
    expect(apply({ users: 'ann,bob,cy', caVersion: '2', userDataCausesReplacement: false })).toEqual(v2);
  }, 120000);

  test('setting accessCaVersion the first time on a deployed stack replaces nothing; changing it then rotates', () => {
    const before = apply({ users: 'ann' });
    const first = apply({ users: 'ann', caVersion: '1' });
    // terraform: creating the referenced terraform_data does not trigger replace_triggered_by.
    expect(first).toEqual(before);
    const second = apply({ users: 'ann', caVersion: '2' });
    expect(second.certificate).not.toBe(before.certificate);
    expect(second.droplet).not.toBe(before.droplet);
  }, 120000);
});
