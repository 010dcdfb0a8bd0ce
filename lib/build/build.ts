// Build: the walk over a plan that creates the resources, one step of the manual procedure after
// the other, each a flat loop over the hosts. Nothing here decides or checks anything the plan
// could (lib/plan/*); what needs the stack (the stack-wide name claims, warnings on the
// construct) happens here.
import { Annotations } from 'cdktf';
import { Construct } from 'constructs';
import { AccessPlan } from '../plan/types';
import { buildApplications, buildOrigin, buildSharedPolicy } from './access';
import { Built, BuildContext, BuiltHost } from './context';
import { withoutCreationStacks } from './creation-stacks';
import { buildDroplets, buildFirewall } from './droplet';
import { buildReadiness, defineReadinessScript } from './readiness';
import { buildPrivateRoutes, buildTunnels } from './tunnel';
import { claimName } from './unique-names';

/** creates what `plan` describes in `construct`, and returns it. */
export function buildPlan(construct: Construct, plan: AccessPlan): Built {
  return withoutCreationStacks(() => build(construct, plan));
}

function build(construct: Construct, plan: AccessPlan): Built {
  const path = construct.node.path;
  for (const c of plan.claims) claimName(construct, c.kind, c.value, `${path}${c.where}`, c.fix);
  for (const w of plan.warnings) Annotations.of(construct).addWarning(w);
  const ctx = new BuildContext(construct, plan);
  if (plan.readiness?.scriptFirst) ctx.readinessScript = defineReadinessScript(ctx.scope(plan.readiness.scriptPath));
  for (const scope of plan.scopes) ctx.scope(scope);
  // each host's scopes first, in the order its resources are listed in (Access, then Tunnel).
  for (const host of plan.hosts) {
    ctx.scope(host.path);
    ctx.scope(host.accessPath);
  }
  buildSharedPolicy(ctx);
  buildOrigin(ctx);
  buildFirewall(ctx);
  for (const host of plan.hosts) ctx.scope([...host.path, 'Tunnel']);
  buildApplications(ctx);
  buildTunnels(ctx);
  buildDroplets(ctx);
  buildPrivateRoutes(ctx);
  buildReadiness(ctx);
  return {
    organization: ctx.organization,
    policy: ctx.policy,
    tag: ctx.tag!,
    firewall: ctx.firewall!,
    applications: ctx.applicationList,
    hosts: ctx.hosts as BuiltHost[],
  };
}
