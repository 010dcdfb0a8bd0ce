// waiting for a host to be reachable: a local-exec poller of the tunnel's health.
import { join } from 'path';
import { AssetType, TerraformAsset, TerraformProvider, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { Resource as NullResource } from '@cdktf/provider-null/lib/resource';
import { literal } from '../internal/escape';
import { lean } from './lean';
import { BuildContext } from './context';

/**
 * Per host, when the plan asks for it: a null_resource whose local-exec provisioner polls
 * Cloudflare until the tunnel has a healthy connector that started after the droplet was created,
 * so `cdktf deploy` returns only when SSH through Access can work, and a droplet replaced
 * create-before-destroy is destroyed only once its replacement is reachable. It runs after the droplet, the tunnel's config, the firewall and what makes the host
 * reachable in its mode (the DNS record, or the private route). The poller is copied into the
 * stack's output as an asset (a path relative to the stack, valid on any machine) and reads the
 * API token from CLOUDFLARE_API_TOKEN in the deploying shell, never from the synthesized JSON.
 */
export function buildReadiness(ctx: BuildContext): void {
  const readiness = ctx.plan.readiness;
  if (readiness === undefined) return;
  requireNullProvider(ctx.construct);
  let script = readiness.scriptFirst ? ctx.readinessScript : undefined;
  const hosts = ctx.plan.hosts;
  for (let i = 0; i < hosts.length; i++) {
    const host = hosts[i];
    const built = ctx.hosts[i];
    const scope = ctx.scope(host.path);
    script ??= defineReadinessScript(ctx.scope(readiness.scriptPath));
    const droplet = built.droplet!;
    const tunnelId = built.tunnelId as string;
    built.readinessWait = lean(new NullResource(scope, 'WaitForReady', literal({
      triggers: { tunnel_id: tunnelId, droplet_id: droplet.id },
      dependsOn: [droplet, built.tunnelConfig!, ctx.firewall!, (built.dnsRecord ?? built.tunnelRoute)!],
      provisioners: [{
        type: 'local-exec',
        command: `node "${script.path}"`,
        environment: {
          CF_ACCOUNT_ID: ctx.plan.accountId,
          CF_TUNNEL_ID: tunnelId,
          WAIT_HOSTNAME: host.hostname,
          WAIT_TIMEOUT_SEC: String(readiness.timeoutSec),
          // a replacement droplet is created before the old one is destroyed, and the old one's
          // connector keeps the tunnel healthy: count only connectors started since this droplet
          // was created, so the old droplet goes only once the new one is reachable.
          WAIT_SINCE: droplet.createdAt,
        },
      }],
    })));
  }
}

/** the poller script as a stack asset; a fleet defines it once for all its hosts. */
export function defineReadinessScript(scope: Construct): TerraformAsset {
  return new TerraformAsset(scope, 'WaitForTunnelScript', {
    path: join(__dirname, '..', '..', 'assets', 'wait-for-tunnel.js'),
    type: AssetType.FILE,
  });
}


/**
 * Fails synth, with the fix, when the stack has no `null` provider for the readiness waits:
 * cdktf's own message ("add provider constructs") does not say that `waitForReady` needs it. The
 * provider is not added for the user: its configuration (version, alias) belongs to the stack.
 */
export function requireNullProvider(scope: Construct): void {
  scope.node.addValidation({
    validate: () => {
      const stack = TerraformStack.of(scope);
      const found = stack.node.findAll().some((c) => TerraformProvider.isTerraformProvider(c) && c.terraformGeneratorMetadata?.providerName === 'null');
      return found ? [] : [
        `waitForReady needs the null provider, and stack '${stack.node.id}' has none: add new NullProvider(stack, "null") ` +
        '(import { NullProvider } from "@cdktf/provider-null/lib/provider"), or drop waitForReady',
      ];
    },
  });
}
