// the wiring that issues 17.4, 18.2 and 19.5 ask of the library, applied by the tests to the
// library's own constructs (or, where a construct cannot be changed after the fact, to its
// synthesized JSON) until the library synthesizes it. Each step is a no-op once the library's
// output already has the shape, so the tests keep passing across the switch-over; each names the
// library function that takes it over. When that function does it, delete the step here and its
// call in the tests: the tests' expectations on the final JSON stay as they are.
import { DataResource, dependable, Testing, TerraformStack } from 'cdktf';
import { Construct, IConstruct } from 'constructs';
import { DataCloudflareZeroTrustTunnelCloudflaredToken } from '@cdktf/provider-cloudflare/lib/data-cloudflare-zero-trust-tunnel-cloudflared-token';
import { ZeroTrustTunnelCloudflared } from '@cdktf/provider-cloudflare/lib/zero-trust-tunnel-cloudflared';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { TerraformJson } from './stand-in';

const TOKEN_TYPE = 'cloudflare_zero_trust_tunnel_cloudflared_token';
const TUNNEL_TYPE = 'cloudflare_zero_trust_tunnel_cloudflared';

/**
 * Issue 17.4, taken over by lib/internal/tunnel.ts `defineTunnel`: the token data source reads the
 * tunnel's id through a `terraform_data` (construct id "TunnelId", next to "Token") whose input is
 * the id, so that only a change of the id itself (a new tunnel) defers the read.
 */
export function wireTokenThroughTerraformData(stack: TerraformStack): void {
  const direct = new Set(Object.entries<any>(JSON.parse(Testing.synth(stack)).data?.[TOKEN_TYPE] ?? {})
    .filter(([, d]) => String(d.tunnel_id).startsWith(`\${${TUNNEL_TYPE}.`)).map(([name]) => name));
  for (const token of all(stack, DataCloudflareZeroTrustTunnelCloudflaredToken)) {
    if (!direct.has(token.friendlyUniqueId)) continue;
    const scope = token.node.scope as Construct;
    const tunnels = scope.node.children.filter((c): c is ZeroTrustTunnelCloudflared => c instanceof ZeroTrustTunnelCloudflared);
    if (tunnels.length !== 1) throw new Error(`pending wiring: ${token.node.path} has ${tunnels.length} sibling tunnels`);
    // input is typed as a map; terraform_data takes any value, and the id alone is the shape we want.
    const tunnelId = new DataResource(scope, 'TunnelId', { input: tunnels[0].id as unknown as Record<string, unknown> });
    token.tunnelId = tunnelId.getStringAttribute('output');
  }
}

/**
 * Issue 18.2, taken over by lib/internal/droplet.ts `defineDroplet`: every droplet without
 * volume_ids is created before the one it replaces is destroyed (a volume attaches to one
 * droplet only, so a droplet with volumes keeps destroy-then-create).
 */
export function createDropletsBeforeDestroy(stack: TerraformStack): void {
  for (const droplet of all(stack, Droplet)) {
    if (droplet.volumeIdsInput !== undefined || droplet.lifecycle?.createBeforeDestroy !== undefined) continue;
    droplet.lifecycle = { ...droplet.lifecycle, createBeforeDestroy: true };
  }
}

/**
 * Issue 18.2, taken over by the droplet-protection prop the library adds (its name is the lead's):
 * lifecycle.prevent_destroy on every droplet.
 */
export function protectDroplets(stack: TerraformStack): void {
  for (const droplet of all(stack, Droplet)) {
    if (droplet.lifecycle?.preventDestroy !== undefined) continue;
    droplet.lifecycle = { ...droplet.lifecycle, preventDestroy: true };
  }
}

/**
 * Issue 19.5, taken over by the host builders (lib/internal/droplet.ts `defineDroplet` given the
 * firewall): each droplet depends on the firewall of its AccessDroplet or fleet, the nearest one
 * up its scopes.
 */
export function dropletsAfterFirewall(stack: TerraformStack): void {
  for (const droplet of all(stack, Droplet)) {
    const firewall = nearestFirewall(droplet);
    const wanted = dependable(firewall);
    const has = (droplet.dependsOn ?? []).some((d) => d === wanted || d === `\${${firewall.terraformResourceType}.${firewall.friendlyUniqueId}}`);
    if (!has) droplet.dependsOn = [...(droplet.dependsOn ?? []), wanted];
  }
}

/**
 * Issue 19.5, taken over by `Fn.sensitive(tunnel.token.token)` where the host builders hand the
 * token to defineDroplet (user_data, DropletTrust): every read of the token data source's `token`
 * goes through sensitive(). A JSON step, since user_data is rendered when the droplet is defined.
 */
export function markTokenSensitive(json: TerraformJson): TerraformJson {
  const names = Object.keys(json.data?.[TOKEN_TYPE] ?? {});
  const text = JSON.stringify(json).replace(
    new RegExp(`(?<!sensitive\\()data\\.${TOKEN_TYPE}\\.(${names.map(escapeRegExp).join('|') || '$^'})\\.token\\b`, 'g'),
    (read) => `sensitive(${read})`);
  return JSON.parse(text);
}

/**
 * Issue 19.5, taken over by lib/internal/droplet-extras.ts `applyDropletExtras`: DropletTrust
 * holds the CA key and the token in `triggers_replace`, not `input`. terraform_data copies `input`
 * into `output` without its sensitive marks (hashicorp/terraform#35609), so with `input` the next
 * plan that changes it prints the old token in the clear, sensitive() or not. A changed
 * triggers_replace replaces DropletTrust, which replace_triggered_by counts as a change too.
 */
export function trustInTriggersReplace(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  for (const [name, block] of Object.entries<any>(out.resource?.terraform_data ?? {})) {
    if (!/(^|_)DropletTrust_[0-9A-F]{8}$/.test(name) || block.input === undefined) continue;
    block.triggers_replace = block.input;
    delete block.input;
  }
  return out;
}

function all<T extends IConstruct>(stack: TerraformStack, type: abstract new (...args: any[]) => T): T[] {
  return stack.node.findAll().filter((c): c is T => c instanceof type);
}

function nearestFirewall(c: IConstruct): Firewall {
  for (let scope = c.node.scope; scope; scope = scope.node.scope) {
    const found = scope.node.children.filter((x): x is Firewall => x instanceof Firewall);
    if (found.length === 1) return found[0];
  }
  throw new Error(`pending wiring: no firewall above ${c.node.path}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
