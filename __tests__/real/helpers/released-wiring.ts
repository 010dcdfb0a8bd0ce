// the wiring of release 0.2.0, derived from the library's own JSON by explicit reverse
// transformations, one per change of issues 16, 17.4, 18.2 and 19.5. The real-terraform tests use
// them where they show the old wiring fail (so the test that proves the new one could fail) and
// where they plan the upgrade of a deployed 0.2.0 stack.
//
// Each transformation undoes exactly one change and refuses a JSON that does not have the shape it
// undoes: when the library's output changes, the test that leans on the old shape says so instead
// of comparing a configuration with itself. Everything else (user_data's text, names, the other
// resources) stays this release's: these are 0.2.0's wiring, not 0.2.0's output.
import { TerraformJson } from './stand-in';

const TOKEN = 'cloudflare_zero_trust_tunnel_cloudflared_token';
const TUNNEL = 'cloudflare_zero_trust_tunnel_cloudflared';
const DROPLET = 'digitalocean_droplet';
const FIREWALL = 'digitalocean_firewall';
const LOCAL = /^\$\{local\.([\w-]+)\}$/;
const TUNNEL_ID = new RegExp(`^\\$\\{${TUNNEL}\\.[\\w-]+\\.id\\}$`);
const TRUST = /(^|_)DropletTrust_[0-9A-F]{8}$/;
const TEXT_REFERENCE = /\$\{local\.([\w-]+)\[(\d+)\]\}/g;

/**
 * As 0.2.0 wired it: the token data source's tunnel_id straight from the tunnel
 * (`${cloudflare_zero_trust_tunnel_cloudflared.X.id}`), without the local "TunnelId" between them.
 */
export function tunnelIdStraightFromTunnel(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  const tokens = Object.entries<any>(out.data?.[TOKEN] ?? {});
  if (tokens.length === 0) throw new Error('released wiring: no tunnel token data source');
  for (const [name, token] of tokens) {
    const local = LOCAL.exec(token.tunnel_id)?.[1];
    const value = local === undefined ? undefined : out.locals?.[local];
    if (typeof value !== 'string' || !TUNNEL_ID.test(value)) {
      throw new Error(`released wiring: ${name}.tunnel_id is ${JSON.stringify(token.tunnel_id)}, not a local holding a tunnel's id`);
    }
    token.tunnel_id = value;
    delete out.locals[local!];
  }
  if (Object.keys(out.locals).length === 0) delete out.locals;
  return out;
}

/**
 * As 0.2.0 wrote it: each droplet's user_data with the cloud-config's text inline, not read from
 * the construct's CloudConfig local (`${local.X[0]}...`). The text is the same: only where it is
 * written changes.
 */
export function cloudConfigInline(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  const used = new Set<string>();
  for (const [name, droplet] of Object.entries<any>(out.resource?.[DROPLET] ?? {})) {
    const inlined = String(droplet.user_data).replace(TEXT_REFERENCE, (ref: string, local: string, index: string) => {
      const text = out.locals?.[local]?.[Number(index)];
      if (typeof text !== 'string') throw new Error(`released wiring: ${name}.user_data refers to ${ref}, which is not a text of a local`);
      used.add(local);
      return text;
    });
    if (inlined === droplet.user_data) throw new Error(`released wiring: ${name}.user_data reads no cloud-config local`);
    droplet.user_data = inlined;
  }
  if (used.size === 0) throw new Error('released wiring: no droplet');
  for (const local of used) delete out.locals[local];
  if (Object.keys(out.locals).length === 0) delete out.locals;
  return out;
}

/** As 0.2.0 wrote it: every read of the token without sensitive() (user_data, DropletTrust). */
export function withoutSensitive(json: TerraformJson): TerraformJson {
  const names = Object.keys(json.data?.[TOKEN] ?? {});
  const read = new RegExp(`sensitive\\((data\\.${TOKEN}\\.(?:${names.map(escapeRegExp).join('|') || '$^'})\\.token)\\)`, 'g');
  const text = JSON.stringify(json);
  if (!read.test(text)) throw new Error('released wiring: no sensitive() read of the tunnel token');
  return JSON.parse(text.replace(read, '$1'));
}

/**
 * As 0.2.0 held it: DropletTrust (userDataCausesReplacement false) with the CA key and the token
 * in `input`, not `triggers_replace`.
 */
export function tokenInTrustInput(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  const trusts = Object.entries<any>(out.resource?.terraform_data ?? {}).filter(([name]) => TRUST.test(name));
  if (trusts.length === 0) throw new Error('released wiring: no DropletTrust');
  for (const [name, block] of trusts) {
    if (block.triggers_replace?.tunnel_token === undefined || block.input !== undefined) {
      throw new Error(`released wiring: ${name} does not hold the token in triggers_replace alone: ${JSON.stringify(block)}`);
    }
    block.input = block.triggers_replace;
    delete block.triggers_replace;
  }
  return out;
}

/** As 0.2.0 wired it: droplets without depends_on their firewall (they only share its tag). */
export function withoutFirewallDependsOn(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  for (const [name, droplet] of Object.entries<any>(out.resource?.[DROPLET] ?? {})) {
    const kept = (droplet.depends_on ?? []).filter((d: string) => !d.startsWith(`${FIREWALL}.`));
    if (kept.length === (droplet.depends_on ?? []).length) throw new Error(`released wiring: ${name} does not depend on a firewall`);
    if (kept.length) droplet.depends_on = kept;
    else delete droplet.depends_on;
  }
  return out;
}

/** As 0.2.0 replaced them: droplets destroyed before their replacement is created (no create_before_destroy). */
export function withoutCreateBeforeDestroy(json: TerraformJson): TerraformJson {
  const out = structuredClone(json);
  for (const [name, droplet] of Object.entries<any>(out.resource?.[DROPLET] ?? {})) {
    if (droplet.lifecycle?.create_before_destroy !== true) throw new Error(`released wiring: ${name} has no create_before_destroy`);
    delete droplet.lifecycle.create_before_destroy;
    if (Object.keys(droplet.lifecycle).length === 0) delete droplet.lifecycle;
  }
  return out;
}

/**
 * This release's JSON with 0.2.0's wiring: every transformation above whose shape is there
 * (DropletTrust only with userDataCausesReplacement false; create_before_destroy not with volumes
 * or accessCaVersion).
 */
export function withReleasedWiring(json: TerraformJson): TerraformJson {
  let out = withoutFirewallDependsOn(withoutSensitive(tunnelIdStraightFromTunnel(cloudConfigInline(json))));
  if (Object.keys(out.resource?.terraform_data ?? {}).some((n) => TRUST.test(n))) out = tokenInTrustInput(out);
  if (Object.values<any>(out.resource?.[DROPLET] ?? {}).some((d) => d.lifecycle?.create_before_destroy === true)) out = withoutCreateBeforeDestroy(out);
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
