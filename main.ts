// The example app: one droplet behind Cloudflare Access.
//
// `npx cdktf synth` works offline with placeholder values. For `cdktf deploy`, set the real
// values as environment variables (or cdktf context, `-c` / cdktf.json "context"):
//   CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_ZONE_ID, ACCESS_HOSTNAME, ACCESS_USERS (comma-separated
//   emails), optional ACCESS_EMAIL_DOMAINS, DO_REGION, DO_SIZE, WAIT_FOR_READY=true;
// state goes to DigitalOcean Spaces (SPACES_BUCKET, SPACES_REGION) or HCP Terraform
// (TF_CLOUD_ORGANIZATION, TF_WORKSPACE) when those are set, else to a local file;
// the providers read their API tokens from CLOUDFLARE_API_TOKEN and DIGITALOCEAN_TOKEN, so no
// secret is ever written into cdktf.out.
import { App, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { AccessDroplet, StateBackend } from './lib';

/** Reads a setting from the environment, then from cdktf context, then the placeholder. */
function setting(scope: Construct, env: string, placeholder: string): string {
  const fromContext = scope.node.tryGetContext(env);
  return process.env[env] || (typeof fromContext === 'string' && fromContext !== '' ? fromContext : placeholder);
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export class AccessDropletStack extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // state: a local file, or DigitalOcean Spaces / HCP Terraform when their variables are set.
    StateBackend.fromEnvironment(this);
    new CloudflareProvider(this, 'cloudflare', {});
    new DigitaloceanProvider(this, 'digitalocean', {});
    new NullProvider(this, 'null', {});

    const domains = list(setting(this, 'ACCESS_EMAIL_DOMAINS', ''));
    const hostname = setting(this, 'ACCESS_HOSTNAME', 'droplet.widgetcorp.tech');
    new AccessDroplet(this, 'Droplet', {
      accountId: setting(this, 'CLOUDFLARE_ACCOUNT_ID', '0123456789abcdef0123456789abcdef'),
      zoneId: setting(this, 'CLOUDFLARE_ZONE_ID', 'fedcba9876543210fedcba9876543210'),
      // the zone's domain, so a hostname outside it fails at synth (default: the hostname's last two labels).
      zoneName: setting(this, 'CLOUDFLARE_ZONE_NAME', hostname.split('.').slice(-2).join('.')),
      hostname,
      users: list(setting(this, 'ACCESS_USERS', 'srhea@cloudflare.com')),
      allow: domains.length > 0 ? { emailDomains: domains } : undefined,
      region: setting(this, 'DO_REGION', 'nyc3'),
      size: setting(this, 'DO_SIZE', 's-1vcpu-1gb'),
      // deploy returns once the tunnel is healthy, i.e. when `ssh` through Access can work.
      waitForReady: setting(this, 'WAIT_FOR_READY', 'false') === 'true',
    });
  }
}

const app = new App();
new AccessDropletStack(app, 'access-droplet');
app.synth();
