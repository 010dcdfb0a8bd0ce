// DigitalOcean, built from the plan (the manual procedure's "Create your droplet", "Configure your
// droplet" and "Lock down all ingress"): the tag and the firewall with no inbound rule, and per
// host the droplet whose cloud-config does the rest at first boot.
import { DataResource, Fn, TerraformLocal, TerraformResourceLifecycle } from 'cdktf';
import { Droplet } from '@cdktf/provider-digitalocean/lib/droplet';
import { Firewall } from '@cdktf/provider-digitalocean/lib/firewall';
import { ProjectResources } from '@cdktf/provider-digitalocean/lib/project-resources';
import { Tag } from '@cdktf/provider-digitalocean/lib/tag';
import { joinUserData, quotedCaPublicKey, templateTexts, UserDataTemplate } from '../cloud-init';
import { escapeTerraformTemplate, literal } from '../internal/escape';
import { DropletPlan } from '../plan/types';
import { lean } from './lean';
import { addressOf, localReference, referenceTo } from './references';
import { BuildContext } from './context';

const EVERYWHERE = ['0.0.0.0/0', '::/0'];

/**
 * The tag the droplets are created with and the firewall that applies by it: no inbound rule at
 * all, egress open (cloudflared, apt and NTP need it). By tag, the firewall covers a droplet from
 * its first boot; by droplet id it would apply only after the droplet exists, leaving a window
 * with port 22 open to the internet.
 */
export function buildFirewall(ctx: BuildContext): void {
  const plan = ctx.plan.firewall;
  const scope = ctx.scope(plan.path);
  ctx.tag = lean(new Tag(scope, 'Tag', literal({ name: plan.tagName })));
  ctx.tagName = ctx.tag.name;
  ctx.firewall = lean(new Firewall(scope, 'Firewall', literal({
    name: plan.name,
    tags: [ctx.tagName],
    outboundRule: [
      { protocol: 'tcp', portRange: 'all', destinationAddresses: EVERYWHERE },
      { protocol: 'udp', portRange: 'all', destinationAddresses: EVERYWHERE },
      { protocol: 'icmp', destinationAddresses: EVERYWHERE },
    ],
  })));
}

/**
 * Per host: the droplet, its user_data the planned cloud-config filled with the CA key (the
 * application's certificate, or the account's for infrastructure) and the tunnel token; its
 * project assignment; and, when user_data changes must not replace it, what still must.
 */
export function buildDroplets(ctx: BuildContext): void {
  const hosts = ctx.plan.hosts;
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i];
    const plan = host.droplet;
    const built = ctx.hosts[i];
    const scope = ctx.scope(host.path);
    const ownCertificate = plan.caPublicKey === undefined ? ctx.hostApplications[i].certificate : undefined;
    // user_data refers to this build's own certificate, token and cloud-config local: plain
    // expressions (./references.ts), so the synth has no token to resolve in it.
    const userData = joinUserData(
      plan.userData,
      ownCertificate === undefined
        ? escapeTerraformTemplate(quotedCaPublicKey(plan.caPublicKey as string))
        : `\${jsonencode("\${${referenceTo(ownCertificate, 'public_key')}}\\n")}`,
      // provider 5.14 does not mark the token sensitive (5.17 does): wherever it flows, it is.
      `\${jsonencode("TUNNEL_TOKEN=\${sensitive(${referenceTo(built.tunnelToken!, 'token')})}\\n")}`,
      sharedTexts(ctx, plan.userData),
    );
    const droplet = lean(new Droplet(scope, 'Droplet', {
      ...literal({
        name: plan.name,
        image: plan.image,
        region: plan.region,
        size: plan.size,
        monitoring: plan.monitoring,
        vpcUuid: plan.vpcUuid,
        tags: [ctx.tagName as string, ...plan.tags],
        backups: plan.backups,
        ipv6: plan.ipv6,
        gracefulShutdown: plan.gracefulShutdown,
        volumeIds: plan.volumeIds === undefined ? undefined : [...plan.volumeIds],
        // no droplet without its firewall: if the firewall cannot be created, neither is the droplet.
        dependsOn: [ctx.firewall!],
        lifecycle: lifecycleOf(plan),
      }),
      userData,
    }));
    built.droplet = droplet;
    if (plan.projectId !== undefined) {
      lean(new ProjectResources(scope, 'ProjectResources', literal({ project: plan.projectId, resources: [droplet.urn] })));
    }
    if (plan.keepOnUserDataChange) {
      // the droplet keeps its disk when users change; but a droplet holding an old CA key or
      // tunnel token could never be reached again, so those still replace it.
      // triggers_replace, not input: terraform_data copies input to its output without the
      // sensitive mark (hashicorp/terraform#35609), and a plan would print the old token.
      const caPublicKey = plan.caPublicKey ?? ctx.hostApplications[i].certificate!.publicKey;
      const tunnelToken = Fn.sensitive(built.tunnelToken!.token) as string;
      const trusted = new DataResource(scope, 'DropletTrust', literal({ triggersReplace: { ca_public_key: caPublicKey, tunnel_token: tunnelToken } }));
      droplet.lifecycle = { ...droplet.lifecycle, ignoreChanges: ['user_data'], replaceTriggeredBy: [addressOf(trusted)] };
    }
  }
}

/**
 * The literal text of a user_data template as references to a Terraform local that holds it, one
 * local per template and construct (`CloudConfig`, `CloudConfig2`, ...). The droplets of a fleet
 * share one cloud-config of some 40 KB; written into every droplet's user_data, a thousand hosts
 * made a 50 MB cdk.tf.json that took most of the synth to serialize. Terraform joins the text
 * back when it evaluates user_data, so the droplet receives the same bytes as if written inline.
 */
function sharedTexts(ctx: BuildContext, template: UserDataTemplate): readonly string[] {
  let texts = ctx.userDataTexts.get(template);
  if (texts === undefined) {
    const n = ctx.userDataTexts.size + 1;
    const local = new TerraformLocal(ctx.construct, n === 1 ? 'CloudConfig' : `CloudConfig${n}`, literal(templateTexts(template)));
    // plain expressions, like the droplets' other references (see buildDroplets).
    const name = localReference(local);
    texts = templateTexts(template).map((_, i) => `\${${name}[${i}]}`);
    ctx.userDataTexts.set(template, texts);
  }
  return texts;
}

/** the droplet's lifecycle: what the plan decided about replacing and destroying it. */
function lifecycleOf(plan: DropletPlan): TerraformResourceLifecycle | undefined {
  if (!plan.createBeforeDestroy && !plan.preventDestroy) return undefined;
  return {
    createBeforeDestroy: plan.createBeforeDestroy ? true : undefined,
    preventDestroy: plan.preventDestroy ? true : undefined,
  };
}
