// The admission invariant of plan/admission.ts, checked again when the stack is synthesized, over
// the final JSON of the policies each self-hosted application uses (overrides included): an
// `addOverride('include', ...)` cannot let a second identity carry a user's principal.
import { TerraformResource } from 'cdktf';
import { ZeroTrustAccessPolicy } from '@cdktf/provider-cloudflare/lib/zero-trust-access-policy';
import { AdmittedRule, checkAdmission } from '../plan/admission';
import { BuildContext } from './context';

/** adds the synth-time check for every self-hosted application the context built. */
export function validateAdmissionOnSynth(ctx: BuildContext, checks: { policies: ZeroTrustAccessPolicy[]; where: string; accounts: readonly { email: string; principal: string }[] }[]): void {
  if (checks.length === 0) return;
  const optIns = ctx.plan.admissionOptIns;
  ctx.construct.node.addValidation({
    validate: () => {
      const includes = new Map<ZeroTrustAccessPolicy, AdmittedRule[]>();
      const problems = new Set<string>();
      for (const check of checks) {
        const rules: AdmittedRule[] = [];
        for (const policy of check.policies) {
          let found = includes.get(policy);
          if (found === undefined) {
            found = includeRulesOf(policy);
            includes.set(policy, found);
          }
          rules.push(...found);
        }
        try {
          checkAdmission({ where: check.where, accounts: check.accounts, rules, existingPolicies: [] }, optIns);
        } catch (e) {
          problems.add(`One principal, one person: ${(e as Error).message}`);
        }
      }
      return [...problems];
    },
  });
}

/** the include rules of a policy's final JSON, as admission sees them. */
function includeRulesOf(policy: TerraformResource): AdmittedRule[] {
  const body = (policy.toTerraform() as any).resource?.[policy.terraformResourceType]?.[policy.friendlyUniqueId] ?? {};
  const include: unknown[] = Array.isArray(body.include) ? body.include : [];
  const source = (i: number) => `policy ${JSON.stringify(body.name)} include[${i}]`;
  return include.map((rule, i): AdmittedRule => {
    const entries = rule !== null && typeof rule === 'object' ? Object.entries(rule as Record<string, any>).filter(([, v]) => v !== undefined && v !== null) : [];
    if (entries.length === 1 && entries[0][0] === 'email') return { kind: 'email', value: String(entries[0][1]?.email), source: source(i) };
    if (entries.length === 1 && entries[0][0] === 'email_domain') return { kind: 'emailDomain', value: String(entries[0][1]?.domain), source: source(i) };
    const kind = entries.map(([k]) => k).join('+') || 'empty rule';
    const everyone = entries.length === 1 && (kind === 'everyone' || (kind === 'ip' && /\/0*0$/.test(String(entries[0][1]?.ip))));
    return { kind, value: JSON.stringify(Object.fromEntries(entries)), source: source(i), admitsEveryone: everyone };
  });
}
