// lib/build/lean.ts: elements the build creates synthesize their attributes without the undefined
// ones; the JSON is the same as the provider class's own, overrides and meta-arguments included.
import { App, TerraformStack, Testing, Token } from 'cdktf';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { ZeroTrustAccessApplication } from '@cdktf/provider-cloudflare/lib/zero-trust-access-application';
import { lean, withoutUndefined } from '../lib/build/lean';

function synthOf(make: (stack: TerraformStack) => void): string {
  const app = Testing.app();
  const stack = new TerraformStack(app as App, 's');
  make(stack);
  return Testing.synth(stack);
}

describe('lean elements', () => {
  test('synthesize the same JSON as the provider class, overrides and meta-arguments included', () => {
    const make = (wrap: <T>(x: T) => T) => (stack: TerraformStack) => {
      const app = wrap(new ZeroTrustAccessApplication(stack, 'App', {
        accountId: 'a',
        name: 'n',
        type: 'self_hosted',
        destinations: [{ type: 'public', uri: 'h.example.com' }],
        policies: [{ id: 'p', precedence: 1 }],
        tags: undefined,
      }));
      const droplet = wrap(new Droplet(stack, 'D', {
        name: 'd', image: 'i', region: 'r', size: 's', tags: [app.id], userData: `x${app.aud}y`,
        lifecycle: { createBeforeDestroy: true }, dependsOn: [app],
      }));
      droplet.addOverride('backups', undefined);
      droplet.addOverride('timeouts.create', '5m');
      droplet.addOverride('monitoring', true);
    };
    const plain = synthOf(make((x) => x));
    const leaned = synthOf(make((x) => lean(x as unknown as Droplet) as unknown as typeof x));
    expect(leaned).toBe(plain);
  });

  test('withoutUndefined drops undefined keys of plain objects only, at any depth', () => {
    const token = Token.asAny('x');
    const resolvable = { resolve: () => 1, other: undefined };
    const input = { a: undefined, b: { c: undefined, d: 1 }, e: [undefined, { f: undefined, g: 2 }], token, resolvable };
    expect(withoutUndefined(input)).toEqual({ b: { d: 1 }, e: [undefined, { g: 2 }], token, resolvable });
    expect((withoutUndefined(input) as typeof input).resolvable).toBe(resolvable);
    expect(input.b).toHaveProperty('c');
    const list = [1, 'x'];
    expect(withoutUndefined(list)).toBe(list);
  });
});
