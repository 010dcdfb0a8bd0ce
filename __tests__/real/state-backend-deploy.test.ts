// lib/state-backend.ts for real: a REAL `cdktf deploy` of a provider-free stack with StateBackend's default local
// state, then the things that used to lose it: `rm -rf cdktf.out` and renaming the stack.
import { execSync } from 'child_process';
import { existsSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';
import { describeReal, NEEDS, newProject, Project, ROOT } from './helpers';

const MAIN = `
import { App, DataResource, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import { StateBackend } from ${JSON.stringify(join(ROOT, 'lib', 'state-backend'))};
const app = new App();
const stack = new TerraformStack(app, process.env.STACK_NAME || 'first');
if (process.env.V010 === '1') {
  // v0.1.0's own backend: the relative path, which terraform resolves inside cdktf.out/stacks/<stack>/.
  new LocalBackend(stack, { path: \`terraform.\${stack.node.id}.tfstate\` });
} else {
  StateBackend.fromEnvironment(stack, {}, process.env.STATE_NAME ? { stateName: process.env.STATE_NAME } : {});
}
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

  test('upgrading from v0.1.0\'s own backend: synth refuses with the whole sequence, which then works as written', () => {
    // a project of its own: the first test's state would rightly count as another stack's orphan.
    project.remove();
    project = newProject('state');
    project.main(MAIN);
    // deployed by v0.1.0: its state in cdktf.out/stacks/old/, recorded there in .terraform too.
    project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'old', V010: '1' });
    const legacy = join(project.dir, 'cdktf.out', 'stacks', 'old', 'terraform.old.tfstate');
    const statePath = join(project.dir, 'terraform.old.tfstate');
    const [id] = stateIds(legacy);
    expect(existsSync(statePath)).toBe(false);
    // the upgrade: the synth fails before terraform runs, and says what to do.
    let message = '';
    try {
      project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'old' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/the state of stack "old" is still at .*cdktf\.out\/stacks\/old\/terraform\.old\.tfstate, inside cdktf\.out/s);
    expect(existsSync(statePath)).toBe(false); // nothing was deployed
    const sequence = /: (mv "[^"]+" "[^"]+") && npx cdktf deploy --migrate-state/.exec(message.replace(/\s*\n\s*/g, ' '));
    expect(sequence).not.toBeNull();
    // the mv alone is not enough: .terraform records the old backend, and terraform refuses the change.
    execSync(sequence![1], { cwd: project.dir });
    expect(() => project.cdktf(['deploy', '--auto-approve'], { STACK_NAME: 'old' })).toThrow(/Backend configuration changed/);
    // with --migrate-state, as the message says: the same resource, nothing created.
    project.cdktf(['deploy', '--auto-approve', '--migrate-state'], { STACK_NAME: 'old' });
    expect(stateIds(statePath)).toEqual([id]);
    expect(existsSync(legacy)).toBe(false);
  }, 300000);
});
