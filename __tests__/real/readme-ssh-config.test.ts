// the README's command that puts SshConfig into ~/.ssh/config, run for real after a real
// `cdktf deploy` of a provider-free stand-in stack. A real-program test: cdktf-cli's native
// modules are built for the Node.js that ran `npm ci`, and terraform does the deploy.
import { execFileSync } from 'child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { SshConfig } from '../../lib';
import { describeReal, NEEDS, newProject, readmeBlocks, ROOT } from './helpers';

describeReal('README: SshConfig into ~/.ssh/config', [NEEDS.terraform], () => {
  test('the documented command appends the SshConfig output unwrapped, after a real cdktf deploy', () => {
    const [deploy] = readmeBlocks('sh').filter((b) => b.includes('--outputs-file outputs.json'));
    expect(deploy).toBeDefined();
    const lines = deploy.split('\n').filter((l) => /^(npx cdktf output|node -e)/.test(l));
    expect(lines).toHaveLength(2);
    const project = newProject('readme-ssh-config');
    try {
      // the stand-in stack has the construct's own output value, under the construct's id.
      const config = SshConfig.render(['droplet.widgetcorp.tech', 'a-very-long-host-name-that-a-terminal-would-wrap-at-eighty.widgetcorp.tech']);
      project.main(`
import { App, TerraformOutput, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
const app = new App();
const stack = new TerraformStack(app, 'ssh');
new TerraformOutput(new Construct(stack, 'web'), 'SshConfig', { value: ${JSON.stringify(config)} });
app.synth();
`);
      project.cdktf(['deploy', '--auto-approve']);
      const home = join(project.dir, 'home');
      mkdirSync(join(home, '.ssh'), { recursive: true });
      writeFileSync(join(home, '.ssh', 'config'), 'Host old\n');
      const script = lines.map((l) => l.replace(/^npx cdktf/, `node ${JSON.stringify(join(ROOT, 'node_modules', 'cdktf-cli', 'bundle', 'bin', 'cdktf'))}`)).join('\n');
      execFileSync('/bin/sh', ['-ec', script], {
        cwd: project.dir, stdio: 'pipe', env: { ...process.env, HOME: home, CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: '/dev/null', COLUMNS: '40' },
      });
      expect(readFileSync(join(home, '.ssh', 'config'), 'utf8')).toBe(`Host old\n${config}\n`);
    } finally {
      project.remove();
    }
  }, 180000);
});
