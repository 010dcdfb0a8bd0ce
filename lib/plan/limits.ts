// Cloudflare's default account limits a fleet can run into, as warnings: the limits can be
// raised on request, so exceeding them is legal, but the apply would fail halfway without it.
// https://developers.cloudflare.com/cloudflare-one/account-limits/

/** Cloudflare's limit on public hostnames (destinations) in one Access application. */
export const ACCESS_DOMAINS_PER_APPLICATION = 5;
/** Cloudflare's default limit on Access applications per account. */
export const ACCESS_APPLICATIONS_PER_ACCOUNT = 500;
/** Cloudflare's default limit on cloudflared tunnels per account. */
export const TUNNELS_PER_ACCOUNT = 1000;
/** Cloudflare's default limit on tunnel routes (CIDR and hostname routes) per account. */
export const TUNNEL_ROUTES_PER_ACCOUNT = 1000;
/** Cloudflare's default limit on reusable Access policies per account. */
export const ACCESS_POLICIES_PER_ACCOUNT = 500;
/** Cloudflare's default limit on Access for Infrastructure targets per account. */
export const INFRASTRUCTURE_TARGETS_PER_ACCOUNT = 5000;

/** a fleet host, as far as the limits care: its access group and whether it has users of its own. */
export interface LimitedHost {
  readonly group?: string;
  readonly spec: { readonly users?: readonly unknown[] };
}

/** the warnings for a fleet of these hosts (empty when every default limit holds). */
export function fleetLimitWarnings(hosts: readonly LimitedHost[], infrastructure: boolean): string[] {
  const warnings: string[] = [];
  if (hosts.length > TUNNELS_PER_ACCOUNT) {
    warnings.push(`the fleet has ${hosts.length} hosts, one tunnel each, over Cloudflare's default of ${TUNNELS_PER_ACCOUNT} tunnels per account; ask Cloudflare to raise it`);
  }
  const groups = new Map<string, boolean>();
  for (const h of hosts) {
    if (h.group !== undefined) groups.set(h.group, (groups.get(h.group) ?? false) || (h.spec.users ?? []).length > 0);
  }
  const ungrouped = hosts.filter((h) => h.group === undefined);
  const applications = ungrouped.length + groups.size;
  if (applications > ACCESS_APPLICATIONS_PER_ACCOUNT) {
    warnings.push(
      `the fleet defines ${applications} Access applications (one per host without an access group), over Cloudflare's default of ${ACCESS_APPLICATIONS_PER_ACCOUNT} per account; ` +
      'put hosts into access groups of up to five (hosts[].accessGroup, or accessGroupSize for counted hosts), or ask Cloudflare to raise the limit',
    );
  }
  // self-hosted: the fleet's policy, plus one for each application whose hosts have users of their own.
  const policies = 1 + ungrouped.filter((h) => (h.spec.users ?? []).length > 0).length + [...groups.values()].filter((own) => own).length;
  if (!infrastructure && policies > ACCESS_POLICIES_PER_ACCOUNT) {
    warnings.push(
      `the fleet defines ${policies} reusable Access policies (one for the fleet, one per application whose hosts have users of their own), ` +
      `over Cloudflare's default of ${ACCESS_POLICIES_PER_ACCOUNT} per account; move those users to the fleet's users, or ask Cloudflare to raise the limit`,
    );
  }
  if (infrastructure && hosts.length > TUNNEL_ROUTES_PER_ACCOUNT) {
    warnings.push(`the fleet has ${hosts.length} hosts, one tunnel route each, over Cloudflare's default of ${TUNNEL_ROUTES_PER_ACCOUNT} routes per account; ask Cloudflare to raise it`);
  }
  if (infrastructure && hosts.length > INFRASTRUCTURE_TARGETS_PER_ACCOUNT) {
    warnings.push(`the fleet has ${hosts.length} hosts, one infrastructure target each, over Cloudflare's default of ${INFRASTRUCTURE_TARGETS_PER_ACCOUNT} targets per account`);
  }
  return warnings;
}
