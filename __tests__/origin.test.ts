// Access enforced at the origin as well (issue 19.4), and the terminal in the browser (17.2).
import { Testing, TerraformOutput, TerraformStack } from 'cdktf';
import { AccessDroplet, AccessDropletFleet, AccessDropletFleetProps, AccessDropletProps, AccessMode } from '../lib';
import { CA_KEY, fleetProps, minimalProps, resourcesOf, warningsOf } from './fixtures';

const droplet = (props: Partial<AccessDropletProps> = {}) =>
  new AccessDroplet(new TerraformStack(Testing.app(), 's'), 'Test', { ...minimalProps, ...props } as AccessDropletProps);
const synthOf = (c: AccessDroplet | AccessDropletFleet) => Testing.synth(c.node.scope as TerraformStack);
const INFRA = { zoneId: undefined, mode: AccessMode.INFRASTRUCTURE, infrastructureCaPublicKey: CA_KEY };
const ORG = /^\$\{data\.cloudflare_zero_trust_organization\.\w+_Access_Organization_[0-9A-F]+\.auth_domain\}$/;

describe('Access at the origin', () => {
  test('every public hostname\'s ingress rule requires its application\'s Access token, for the team read from the organization', () => {
    const out = synthOf(droplet());
    const [rule] = resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config')[0].config.ingress;
    expect(rule.origin_request.access.required).toBe(true);
    expect(rule.origin_request.access.aud_tag).toEqual([expect.stringMatching(/^\$\{cloudflare_zero_trust_access_application\.Test_Access_AccessApp_[0-9A-F]+\.aud\}$/)]);
    const [org] = Object.values(JSON.parse(out).data.cloudflare_zero_trust_organization) as any[];
    expect(org.account_id).toBe('acc123');
    // an auth domain that is not <team>.cloudflareaccess.com fails the plan, before any tunnel is configured.
    expect(org.lifecycle.postcondition).toEqual([{
      condition: '${can(regex("^[a-z0-9-]+[.]cloudflareaccess[.]com$", self.auth_domain))}', error_message: expect.stringMatching(/pass accessTeamName/),
    }]);
  });

  test('a given team name is used, and the organization must agree with it', () => {
    const out = synthOf(droplet({ accessTeamName: 'widgetcorp' }));
    const [rule] = resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config')[0].config.ingress;
    expect(rule.origin_request.access.team_name).toBe('widgetcorp');
    const [org] = Object.values(JSON.parse(out).data.cloudflare_zero_trust_organization) as any[];
    expect(org.lifecycle.postcondition[0].condition).toBe('${self.auth_domain == "widgetcorp.cloudflareaccess.com"}');
    expect(org.lifecycle.postcondition[0].error_message).toMatch(/accessTeamName "widgetcorp" is not this account's team: .* cloudflared would refuse everyone/);
  });

  test.each(['Widgetcorp', 'widgetcorp.cloudflareaccess.com', '-x', 'a b', ''])('fails on the team name %j', (team) => {
    expect(() => droplet({ accessTeamName: team })).toThrow(/accessTeamName ".*" is not a team name: the first label of the auth domain/);
  });

  test('a fleet reads the organization once; each host\'s rule names its own application, a group its shared one', () => {
    const fleet = new AccessDropletFleet(new TerraformStack(Testing.app(), 's'), 'Fleet', {
      ...fleetProps, hosts: [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech', accessGroup: 'g' }, { hostname: 'c.widgetcorp.tech', accessGroup: 'g' }],
    } as AccessDropletFleetProps);
    const json = JSON.parse(synthOf(fleet));
    expect(Object.keys(json.data.cloudflare_zero_trust_organization)).toHaveLength(1);
    const auds = Object.values(json.resource.cloudflare_zero_trust_tunnel_cloudflared_config).map((c: any) => c.config.ingress[0].origin_request.access.aud_tag[0]);
    expect(auds[0]).toMatch(/Fleet_Hosts_a-widgetcorp-tech_Access_AccessApp_/);
    expect(auds[1]).toBe(auds[2]);
    expect(auds[1]).toMatch(/Fleet_Access_Appg_AccessApp_/);
    expect(fleet.accessLauncherUrl).toBeDefined();
  });

  test('infrastructure mode has no public hostname to protect: no organization, and the props are refused', () => {
    const json = JSON.parse(synthOf(droplet(INFRA)));
    expect(json.data.cloudflare_zero_trust_organization).toBeUndefined();
    expect(JSON.stringify(json.resource.cloudflare_zero_trust_tunnel_cloudflared_config)).not.toMatch(/origin_request/);
    expect(() => droplet({ ...INFRA, accessTeamName: 'widgetcorp' })).toThrow(/accessTeamName has no effect in infrastructure mode/);
    expect(() => droplet({ ...INFRA, browserSsh: true })).toThrow(/browserSsh works in self-hosted mode only/);
  });
});

describe('browserSsh', () => {
  test('off by default: a self-hosted application', () => {
    expect(resourcesOf(synthOf(droplet()), 'cloudflare_zero_trust_access_application')[0].type).toBe('self_hosted');
    expect(droplet().browserSshUrl).toBeUndefined();
  });

  test('on: an application of type ssh that keeps its certificate CA, allow policy and origin check; the URLs', () => {
    const ad = droplet({ browserSsh: true, users: ['srhea@cloudflare.com'] });
    // the attributes as Terraform would see them: through outputs of the test's own.
    new TerraformOutput(ad.node.scope as TerraformStack, 'launcher', { value: ad.accessLauncherUrl });
    new TerraformOutput(ad.node.scope as TerraformStack, 'authDomain', { value: ad.organization!.authDomain });
    const out = synthOf(ad);
    const [app] = resourcesOf(out, 'cloudflare_zero_trust_access_application');
    expect(app).toMatchObject({ type: 'ssh', domain: 'droplet.widgetcorp.tech' });
    expect(resourcesOf(out, 'cloudflare_zero_trust_access_short_lived_certificate')).toHaveLength(1);
    expect(resourcesOf(out, 'cloudflare_zero_trust_access_policy')[0].decision).toBe('allow');
    expect(resourcesOf(out, 'cloudflare_zero_trust_tunnel_cloudflared_config')[0].config.ingress[0].origin_request.access.required).toBe(true);
    expect(ad.browserSshUrl).toBe('https://droplet.widgetcorp.tech');
    const outputs = Object.entries(JSON.parse(out).output) as [string, any][];
    expect(outputs.filter(([name]) => /^Test_BrowserSshUrl_/.test(name)).map(([, o]) => o.value)).toEqual(['https://droplet.widgetcorp.tech']);
    const output = (name: string) => JSON.parse(out).output[name].value;
    expect(output('launcher')).toMatch(/^https:\/\/\$\{data\.cloudflare_zero_trust_organization\.Test_Access_Organization_[0-9A-F]+\.auth_domain\}$/);
    expect(output('authDomain')).toMatch(ORG);
  });

  test('warns about people the browser cannot log in (their Unix name is not their local part), and about existing policies', () => {
    const ad = droplet({ browserSsh: true, users: ['srhea@cloudflare.com', { email: 'jane.doe@cloudflare.com', unixName: 'jdoe' }] });
    expect(warningsOf(ad)).toEqual([expect.stringMatching(/^browserSsh: the browser terminal logs in as the email's local part, so jane\.doe@cloudflare\.com \(account jdoe\) can log in with the cloudflared client only/)]);
    const withIds = droplet({ browserSsh: true, accessPolicyIds: ['p1'], dangerouslyAllowImpersonation: true });
    expect(warningsOf(withIds)).toContainEqual(expect.stringMatching(/only Allow and Block policies/));
    const fleet = new AccessDropletFleet(new TerraformStack(Testing.app(), 's'), 'Fleet', { ...fleetProps, browserSsh: true } as AccessDropletFleetProps);
    expect(Object.values(JSON.parse(synthOf(fleet)).resource.cloudflare_zero_trust_access_application).map((a: any) => a.type)).toEqual(['ssh', 'ssh']);
  });
});
