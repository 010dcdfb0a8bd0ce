// lib/state-backend.ts for real: a REAL `cdktf deploy` of a provider-free stack with StateBackend's default local
// state, then the things that used to lose it: `rm -rf cdktf.out` and renaming the stack.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'fs';
import { join } from 'path';
import { describeReal, NEEDS, newProject, Project, ROOT } from './helpers';

const MAIN = `
import { App, DataResource, TerraformOutput, TerraformStack } from 'cdktf';
import { StateBackend } from ${JSON.stringify(join(ROOT, 'lib', 'state-backend'))};
const app = new App();
const stack = new TerraformStack(app, process.env.STACK_NAME || 'first');
StateBackend.fromEnvironment(stack, {}, process.env.STATE_NAME ? { stateName: process.env.STATE_NAME } : {});
// stands in for the droplet: a new id would mean a second droplet.
const droplet = new DataResource(stack, 'Droplet', { input: { size: 's-1vcpu-1gb' } });
new TerraformOutput(stack, 'droplet_id', { value: droplet.id });
app.synth();
`;

function stateIds(path: string): string[] {
  const state = JSON.parse(readFileSync(path, 'utf8'));
  return state.resources.flatMap((r: any) => r.instances.map((i: any) => i.attributes.id));
}

describeReal('local state survives cdktf (real cdktf deploy)', [NEEDS.terraform], () => {
  let project: Project;
  beforeAll(() => {
    project = newProject('state');
    project.main(MAIN);
  });
  afterAll(() => project.remove());

  test('keeps the state in the project directory across rm -rf cdktf.out and a stack rename', () => {
    project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'first' });
    const statePath = join(project.dir, 'terraform.first.tfstate');
    // the state lives next to cdktf.json, by absolute path, not inside cdktf.out/stacks/first.
    expect(existsSync(statePath)).toBe(true);
    expect(existsSync(join(project.dir, 'cdktf.out', 'stacks', 'first', 'terraform.first.tfstate'))).toBe(false);
    const synthesized = JSON.parse(readFileSync(join(project.dir, 'cdktf.out', 'stacks', 'first', 'cdk.tf.json'), 'utf8'));
    expect(synthesized.terraform.backend.local.path).toBe(statePath);
    const [id] = stateIds(statePath);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // every deploy below must keep this one resource: a second id would be a second droplet.

    // a fresh clone or `rm -rf cdktf.out`: the next deploy finds the droplet and changes nothing.
    rmSync(join(project.dir, 'cdktf.out'), { recursive: true, force: true });
    project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'first' });
    expect(stateIds(statePath)).toEqual([id]);

    // a renamed stack: cdktf deletes cdktf.out/stacks/first; deploying it as it is fails at
    // synth, before terraform runs, because its old state still holds the droplet...
    expect(() => project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'renamed' }))
      .toThrow(/stack "renamed" has no state file .*terraform\.first\.tfstate in .* still holds resources.*stateName/s);
    expect(existsSync(join(project.dir, 'terraform.renamed.tfstate'))).toBe(false);
    // ...and with stateName the renamed stack deploys against the same state: nothing created.
    project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'renamed', STATE_NAME: 'first' });
    expect(existsSync(join(project.dir, 'cdktf.out', 'stacks', 'first'))).toBe(false);
    expect(stateIds(statePath)).toEqual([id]);
    expect(existsSync(join(project.dir, 'terraform.renamed.tfstate'))).toBe(false);
  }, 240000);

  test('refuses to deploy while the state is still where v0.1.0 kept it, inside cdktf.out', () => {
    // a project of its own: the first test's state would rightly count as another stack's orphan.
    project.remove();
    project = newProject('state');
    project.main(MAIN);
    // v0.1.0's layout: the relative path, resolved by terraform in cdktf.out/stacks/<stack>/.
    project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'old' });
    const legacyDir = join(project.dir, 'cdktf.out', 'stacks', 'old');
    const statePath = join(project.dir, 'terraform.old.tfstate');
    const [id] = stateIds(statePath);
    mkdirSync(legacyDir, { recursive: true });
    renameSync(statePath, join(legacyDir, 'terraform.old.tfstate'));
    expect(() => project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'old' }))
      .toThrow(/the state of stack "old" is still at .*cdktf\.out\/stacks\/old\/terraform\.old\.tfstate, inside cdktf\.out.*mv /s);
    expect(existsSync(statePath)).toBe(false); // nothing was deployed
    // after the mv the message gives, the deploy finds the same resource.
    renameSync(join(legacyDir, 'terraform.old.tfstate'), statePath);
    project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'old' });
    expect(stateIds(statePath)).toEqual([id]);
  }, 240000);
});
