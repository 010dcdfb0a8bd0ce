// issue 19.4 with REAL terraform on the stand-in of the library's output: the team name cloudflared
// checks Access tokens for is read from the organization, or given and checked against it; a team
// name that is not the account's fails the plan (a postcondition on the organization data source),
// where it would otherwise configure a tunnel that refuses everyone.
import { Testing } from 'cdktf';
import { describeReal, libraryStack, makeTempDir, NEEDS, removeTempDirs, standIn, tfInit, tfPlanResult } from './helpers';

/** plans the library's self-hosted droplet with `props`, the organization's auth domain being `authDomain`. */
function plan(props: { accessTeamName?: string }, authDomain: string) {
  const json = JSON.parse(Testing.synth(libraryStack('self-hosted', props)));
  const s = standIn(json);
  const [org] = s.dataOf('cloudflare_zero_trust_organization');
  const dir = makeTempDir('origin');
  s.write(dir, { [org.original]: { values: { auth_domain: authDomain } } });
  tfInit(dir);
  const r = tfPlanResult(dir);
  const [config] = s.resourcesOf('cloudflare_zero_trust_tunnel_cloudflared_config');
  const planned = r.plan?.changes.get(config.address)?.after;
  return { r, team: planned?.input?.config?.ingress?.[0]?.origin_request?.access?.team_name };
}

describeReal('the team name cloudflared checks Access tokens for, under real terraform', [NEEDS.terraform], () => {
  afterEach(() => removeTempDirs());

  test('read from the organization: its auth domain\'s first label', () => {
    const { r, team } = plan({}, 'widgetcorp.cloudflareaccess.com');
    expect(r.status).toBe(2);
    expect(team).toBe('widgetcorp');
  }, 60000);

  test('an auth domain that is not <team>.cloudflareaccess.com fails the plan and says to pass accessTeamName', () => {
    const { r } = plan({}, 'login.widgetcorp.tech');
    expect(r.status).toBe(1);
    expect(r.stderr.replace(/\s+/g, " ")).toMatch(/auth domain \(login\.widgetcorp\.tech\) is not <team>\.cloudflareaccess\.com[\s\S]*pass accessTeamName/);
  }, 60000);

  test('given, it is used when the organization agrees, and fails the plan when it does not', () => {
    const ok = plan({ accessTeamName: 'widgetcorp' }, 'widgetcorp.cloudflareaccess.com');
    expect(ok.r.status).toBe(2);
    expect(ok.team).toBe('widgetcorp');
    const wrong = plan({ accessTeamName: 'widgetcrop' }, 'widgetcorp.cloudflareaccess.com');
    expect(wrong.r.status).toBe(1);
    expect(wrong.r.stderr.replace(/\s+/g, " ")).toMatch(/accessTeamName "widgetcrop" is not this account's team: the organization.s auth domain is widgetcorp\.cloudflareaccess\.com/);
  }, 60000);
});
