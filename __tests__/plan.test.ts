// Planning is pure (issue 16): a plan is plain data, made without a stack, a construct or a token,
// and it decides every resource the build then creates.
import * as stackTrace from 'cdktf/lib/tokens/private/stack-trace';
import { Testing, TerraformStack } from 'cdktf';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode, AccessRule } from '../lib';
import { planAccessDroplet } from '../lib/plan/access-droplet-plan';
import { planFleet } from '../lib/plan/fleet-plan';
import { AccessPlan } from '../lib/plan/types';
import { CA_KEY, fleetProps, minimalProps } from './fixtures';

/** runs `f` and counts the stack traces cdktf captures meanwhile: one per token, lazy value or computed reference. */
function tracesDuring<T>(f: () => T): { result: T; traces: number } {
  const module = stackTrace as { captureStackTrace: (below?: unknown) => string[] };
  const original = module.captureStackTrace;
  let traces = 0;
  module.captureStackTrace = (below?: unknown) => {
    traces++;
    return original(below);
  };
  try {
    return { result: f(), traces };
  } finally {
    module.captureStackTrace = original;
  }
}

const infraDroplet: AccessDropletProps = { ...minimalProps, zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY };
const bigFleet: AccessDropletFleetProps = {
  ...fleetProps,
  users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }],
  hosts: undefined, count: 12, hostnamePattern: 'web-{index}.widgetcorp.tech', accessGroupSize: 5,
  waitForReady: true, extraCloudConfig: { packages: ['htop'] }, accessRequire: [AccessRule.loginMethod('idp-1')],
};

describe('plan', () => {
  test.each([
    ['an AccessDroplet', () => planAccessDroplet(minimalProps, 'Test')],
    ['an infrastructure AccessDroplet', () => planAccessDroplet(infraDroplet, 'Test')],
    ['a fleet', () => planFleet(bigFleet)],
    ['an infrastructure fleet', () => planFleet({ ...bigFleet, zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY })],
  ])('of %s needs no stack and creates no token', (_name, plan) => {
    // the check can see tokens: a construct's build creates many.
    expect(tracesDuring(() => new AccessDroplet(new TerraformStack(Testing.app(), 's'), 'T', minimalProps)).traces).toBeGreaterThan(10);
    const { result, traces } = tracesDuring(plan);
    expect(traces).toBe(0);
    // plain data: it survives a JSON round trip apart from the rule objects, and holds no token.
    const text = JSON.stringify(result);
    expect(text).not.toMatch(/TfToken|\$\{/);
  });

  test('of a fleet decides every host, application and policy as data', () => {
    const plan: AccessPlan = planFleet(bigFleet);
    expect(plan.hosts.map((h) => h.path.join('/'))).toEqual(Array.from({ length: 12 }, (_, i) => `Hosts/web-${i + 1}-widgetcorp-tech`));
    expect(plan.sharedApplications.map((a) => [a.key, a.path.join('/'), a.hostnames.length])).toEqual([
      ['App1', 'Access/App1', 5], ['App2', 'Access/App2', 5], ['App3', 'Access/App3', 2],
    ]);
    expect(plan.hosts.map((h) => ('shared' in h.application ? h.application.shared : 'own'))).toEqual([
      'App1', 'App1', 'App1', 'App1', 'App1', 'App2', 'App2', 'App2', 'App2', 'App2', 'App3', 'App3',
    ]);
    expect(plan.policy?.include.map((r) => r.describe())).toEqual(['email srhea@cloudflare.com', 'email jane.doe@example.com']);
    expect(plan.policy?.require.map((r) => r.describe())).toEqual(['loginMethod idp-1']);
    expect(plan.firewall).toEqual({ path: [], tagName: 'access-fleet-web', name: 'web-fw' });
    expect(plan.readiness).toEqual({ timeoutSec: 600, scriptPath: [], scriptFirst: true });
    // one user_data template for every host with the same users: rendered once, not per host.
    expect(new Set(plan.hosts.map((h) => h.droplet.userData)).size).toBe(1);
    expect(plan.claims.filter((c) => c.kind === 'hostname')).toHaveLength(12);
  });

  test('of an AccessDroplet is a plan of one host in the construct itself', () => {
    const plan = planAccessDroplet({ ...minimalProps, name: 'box' }, 'Test');
    expect(plan.hosts).toHaveLength(1);
    const [host] = plan.hosts;
    expect(host.path).toEqual([]);
    expect(host.accessPath).toEqual(['Access']);
    expect(host.reach).toBe('public-hostname');
    expect('own' in host.application && host.application.own.kind).toBe('self_hosted');
    expect(plan.firewall).toEqual({ path: [], tagName: 'access-droplet-box', name: 'box-fw' });
    const infra = planAccessDroplet(infraDroplet, 'Test').hosts[0];
    expect(infra.reach).toBe('private-route');
    expect('own' in infra.application && infra.application.own.userPolicies.map((p) => p.unixName)).toEqual(['srhea']);
  });

  test('fails at planning, before anything is built, with the same errors as the construct', () => {
    const bad = { ...fleetProps, hosts: [{ hostname: 'a.other.tech' }] };
    expect(() => planFleet(bad)).toThrow(/is not in zone "widgetcorp.tech"/);
    const stack = new TerraformStack(Testing.app(), 's');
    expect(() => new AccessDropletFleet(stack, 'F', bad)).toThrow(/is not in zone "widgetcorp.tech"/);
    expect(stack.node.findAll().filter((c) => c.node.path.startsWith('s/F/'))).toEqual([]);
  });
});
