// what a real-program test needs, and skipping (locally) or failing (under CI) without it.
import { spawnSync } from 'child_process';
import { accessSync, constants } from 'fs';
import { TOOLS, cloudInitPython, run } from './process';

export interface Requirement {
  /** what is missing, as shown to the developer. */
  readonly what: string;
  /** the Debian package that provides it, or "" when apt cannot (root, terraform). */
  readonly aptPackage: string;
  readonly present: () => boolean;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An executable at `path`, from the Debian package `aptPackage`. */
export const tool = (path: string, aptPackage: string): Requirement => ({
  what: path,
  aptPackage,
  present: () => executable(path),
});

export const NEEDS = {
  root: { what: 'root', aptPackage: '', present: () => process.getuid?.() === 0 } as Requirement,
  cloudInit: tool(TOOLS.cloudInit, 'cloud-init'),
  // the users and write_files modules are driven through cloud-init's own Python code.
  cloudInitModules: {
    what: 'the cloudinit Python package',
    aptPackage: 'cloud-init',
    present: () => executable(TOOLS.cloudInit) && run(cloudInitPython(), ['-c', 'import cloudinit.config.cc_users_groups']).status === 0,
  } as Requirement,
  sshd: tool(TOOLS.sshd, 'openssh-server'),
  ssh: tool(TOOLS.ssh, 'openssh-client'),
  sshKeygen: tool(TOOLS.sshKeygen, 'openssh-client'),
  systemdAnalyze: tool(TOOLS.systemdAnalyze, 'systemd'),
  useradd: tool(TOOLS.useradd, 'passwd'),
  userdel: tool(TOOLS.userdel, 'passwd'),
  visudo: tool(TOOLS.visudo, 'sudo'),
  sudo: tool(TOOLS.sudo, 'sudo'),
  unshare: tool(TOOLS.unshare, 'util-linux'),
  // run by name, as cdktf-cli runs it; it comes from HashiCorp's releases, not from Debian.
  terraform: {
    what: 'terraform on PATH (https://developer.hashicorp.com/terraform/install)',
    aptPackage: '',
    present: () => spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0,
  } as Requirement,
};

/**
 * `describe` when every requirement is met. Otherwise a developer's run skips the block and says
 * why, while a CI run (CI=true) fails: CI installs these tools, so a missing one is a broken
 * pipeline, not a reason to go green.
 */
export function describeReal(name: string, needs: readonly Requirement[], fn: () => void): void {
  const missing = needs.filter((n) => !n.present());
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const packages = [...new Set(missing.map((m) => m.aptPackage).filter((p) => p))];
  const reason =
    `needs ${missing.map((m) => m.what).join(', ')}` +
    (packages.length ? ` (apt-get install -y ${packages.join(' ')})` : '') +
    (missing.includes(NEEDS.root) ? ' (run the tests as root)' : '');
  if (process.env.CI === 'true') {
    describe(name, () => {
      test('has the programs it checks against', () => {
        throw new Error(`${name} ${reason}; CI must provide them (.ci/run)`);
      });
    });
    return;
  }
  // said twice: on stderr as the file loads, and as the title of the skipped test in the report.
  process.stderr.write(`skipping "${name}": ${reason}\n`);
  describe(name, () => {
    test.skip(`skipped: ${reason}`, () => undefined);
  });
}
