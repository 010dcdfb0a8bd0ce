// Strings from the props (issue 19.5): one printable line or a whole token (lib/plan/literals.ts),
// and every literal escaped for Terraform by the one escape (lib/internal/escape.ts `literal`).
import { Fn, Testing, TerraformStack, TerraformVariable } from 'cdktf';
import { AccessDropletFleetProps, AccessDropletProps, AccessMode } from '../lib';
import { CA_KEY, fleetProps, minimalProps } from './fixtures';

// what Terraform would read as an interpolation or a directive, were it not escaped.
const MARK = '${var.hostile}%{ if true }x%{ endif }';
const EMAIL = 'x${var.hostile}%{if}@corp.com';

/** both constructs in both modes, every free-form prop holding template text; `lib` is the library to use. */
function synthHostile(lib: typeof import('../lib')): string {
  const stack = new TerraformStack(Testing.app(), 's');
  const selfHosted: AccessDropletProps = {
    ...minimalProps, users: ['srhea@cloudflare.com', { email: EMAIL, unixName: 'xv' }],
    accessAppName: `App ${MARK}`, accessTags: [`tag ${MARK}`], vpcUuid: `vpc${MARK}`, waitForReady: true,
    clientCloudflaredPath: `/opt/${MARK}/cloudflared`, extraCloudConfig: { write_files: [{ path: '/opt/x/y', content: MARK }] },
  };
  new lib.AccessDroplet(stack, 'SelfHosted', selfHosted);
  new lib.AccessDroplet(stack, 'Infra', {
    ...minimalProps, hostname: 'bastion.widgetcorp.tech', zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY,
    virtualNetworkId: `vnet${MARK}`, users: [{ email: EMAIL, unixName: 'xv' }], accessAppName: `Infra ${MARK}`, projectId: 'p1',
  });
  const fleet: AccessDropletFleetProps = {
    ...fleetProps, hosts: [{ hostname: 'web-1.widgetcorp.tech', users: [{ email: EMAIL, unixName: 'xv' }] }, { hostname: 'web-2.widgetcorp.tech' }],
    clientCloudflaredPath: `/opt/${MARK}/cf`, userDataCausesReplacement: false, accessCaVersion: '1',
  };
  new lib.AccessDropletFleet(stack, 'Fleet', fleet);
  new lib.AccessDropletFleet(stack, 'InfraFleet', {
    ...fleetProps, name: 'infra', zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY,
    hosts: [{ hostname: 'i-1.widgetcorp.tech', users: [{ email: EMAIL, unixName: 'xv' }] }], virtualNetworkId: `vnet${MARK}`,
  });
  return Testing.synth(stack);
}

/** the places in the JSON where a mark reached Terraform unescaped. */
function unescaped(json: string): string[] {
  const text = JSON.stringify(JSON.parse(json));
  return [...text.matchAll(/(^|[^$%])([$%]\{)(var\.hostile|\s*if|if\}|\s*endif)/g)].map((m) => text.slice(Math.max(0, m.index! - 60), m.index! + 30));
}

describe('every literal reaches Terraform escaped', () => {
  test('in both constructs and both modes, wherever a prop lands', () => {
    const json = synthHostile(require('../lib'));
    // the mark did reach the JSON, in each kind of block the constructs write...
    const parsed = JSON.parse(json);
    const withMark = (block: Record<string, any> | undefined) => Object.values(block ?? {}).flatMap((items) => Object.values(items as object))
      .filter((c) => JSON.stringify(c).includes('$${var.hostile}'));
    expect(withMark(parsed.resource).length).toBeGreaterThan(8);
    expect(Object.values(parsed.output).filter((o: any) => JSON.stringify(o).includes('$${var.hostile}')).length).toBeGreaterThanOrEqual(2);
    // ...and nowhere unescaped.
    expect(unescaped(json)).toEqual([]);
  });

  test('the check notices a literal that skips the escape (the one escape replaced by a no-op)', () => {
    let json = '';
    jest.isolateModules(() => {
      jest.doMock('../lib/internal/escape', () => ({ literal: (c: unknown) => c, escapeTerraformTemplate: (t: string) => t }));
      json = synthHostile(require('../lib'));
    });
    jest.dontMock('../lib/internal/escape');
    expect(unescaped(json).length).toBeGreaterThan(5);
  });
});

describe('strings from the props are one printable line, or a whole token', () => {
  const droplet = (props: Partial<AccessDropletProps>) => {
    const { AccessDroplet } = require('../lib');
    return new AccessDroplet(new TerraformStack(Testing.app(), 's'), 'T', { ...minimalProps, ...props });
  };

  test.each<[string, Partial<AccessDropletProps>, RegExp]>([
    ['a newline in clientCloudflaredPath (a ProxyCommand for every host)', { clientCloudflaredPath: '/usr/bin/cloudflared\nHost *\n  ProxyCommand sh -c evil' },
      /clientCloudflaredPath "\/usr\/bin\/cloudflared\\nHost \*.*" holds a control character \(U\+000A\) at position 20/],
    ['a carriage return in the app name', { accessAppName: 'ssh\rsecret' }, /accessAppName "ssh\\rsecret" holds a control character \(U\+000D\)/],
    ['an escape sequence in a tag', { accessTags: ['t\u001b[2J'] }, /accessTags\[0\] .* holds a control character \(U\+001B\)/],
    ['a line separator in the vpc id', { vpcUuid: 'vpc\u2028x' }, /vpcUuid "vpc[^"]x" holds a control character \(U\+2028\)/],
    ['a NUL in a user\'s email', { users: [{ email: 'a\u0000@b.com' }] }, /users\[0\]\.email .* holds a control character \(U\+0000\)/],
  ])('fails on %s', (_name, props, message) => {
    expect(() => droplet(props)).toThrow(message);
  });

  test('every string prop at any depth, without a list of them: generated control characters in every field are refused', () => {
    const fields: [string, (c: string) => Partial<AccessDropletProps>][] = [
      ['accessAppName', (c) => ({ accessAppName: `a${c}b` })],
      ['name', (c) => ({ name: `a${c}b` })],
      ['hostname', (c) => ({ hostname: `a${c}b.widgetcorp.tech` })],
      ['zoneName', (c) => ({ zoneName: `widget${c}corp.tech` })],
      ['accountId', (c) => ({ accountId: `acc${c}` })],
      ['users[0].unixName', (c) => ({ users: [{ email: 'a@b.com', unixName: `a${c}` }] })],
      ['users[0].groups[0]', (c) => ({ users: [{ email: 'a@b.com', groups: [`g${c}`] }] })],
      ['unixNames.a@b.com', (c) => ({ users: ['a@b.com'], unixNames: { 'a@b.com': `a${c}` } })],
      ['tags[0]', (c) => ({ tags: [`t${c}`] })],
      ['region', (c) => ({ region: `nyc${c}3` })],
      ['cloudflaredAptUrl', (c) => ({ cloudflaredAptUrl: `https://x${c}` })],
      ['allow.emails[0]', (c) => ({ allow: { emails: [`z${c}@b.com`] } })],
    ];
    for (let code = 0; code < 0x20; code++) {
      const c = String.fromCharCode(code);
      for (const [field, props] of fields) {
        expect(() => droplet(props(c))).toThrow(new RegExp(`^${field.replace(/[.[\]]/g, '\\$&')} .*holds a control character`));
      }
    }
  });

  test('a token as a whole value is accepted; a token inside literal text is refused', () => {
    const stack = new TerraformStack(Testing.app(), 's');
    const path = new TerraformVariable(stack, 'cloudflared', { type: 'string' }).stringValue;
    const { AccessDroplet } = require('../lib');
    expect(() => new AccessDroplet(stack, 'A', { ...minimalProps, clientCloudflaredPath: path })).not.toThrow();
    expect(() => droplet({ clientCloudflaredPath: `/opt/${Fn.lower('X')}/cloudflared` }))
      .toThrow(/clientCloudflaredPath ".*" embeds a Terraform value in literal text/);
  });

  test('AccessUser refuses fields it does not know, naming the one meant', () => {
    expect(() => droplet({ users: [{ email: 'a@b.com', unixname: 'jdoe' } as any] })).toThrow(/users\[0\]\.unixname is not a field of AccessUser and would be ignored; write it "unixName"/);
    expect(() => droplet({ users: [{ email: 'a@b.com', admin: true } as any] })).toThrow(/users\[0\]\.admin is not a field of AccessUser .*fields: email, unixName, sudo, groups/);
  });
});
