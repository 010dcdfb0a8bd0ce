// The example app: one droplet behind Cloudflare Access.
//
// `npx cdktf synth` works offline with placeholder values. For `cdktf deploy`, set the real
// values as environment variables (or cdktf context, `-c` / cdktf.json "context"):
//   CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_ZONE_ID, ACCESS_HOSTNAME, ACCESS_USERS (comma-separated
//   emails), optional ACCESS_EMAIL_DOMAINS, DO_REGION, DO_SIZE;
// the providers read their API tokens from CLOUDFLARE_API_TOKEN and DIGITALOCEAN_TOKEN, so no
// secret is ever written into cdktf.out.
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { DigitaloceanProvider } from '@cdktf/provider-digitalocean/lib/provider';
import { AccessDroplet } from './lib';

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
    new LocalBackend(this, { path: 'terraform.access-droplet.tfstate' });
    new CloudflareProvider(this, 'cloudflare', {});
    new DigitaloceanProvider(this, 'digitalocean', {});

    const domains = list(setting(this, 'ACCESS_EMAIL_DOMAINS', ''));
    new AccessDroplet(this, 'Droplet', {
      accountId: setting(this, 'CLOUDFLARE_ACCOUNT_ID', '0123456789abcdef0123456789abcdef'),
      zoneId: setting(this, 'CLOUDFLARE_ZONE_ID', 'fedcba9876543210fedcba9876543210'),
      hostname: setting(this, 'ACCESS_HOSTNAME', 'droplet.widgetcorp.tech'),
      users: list(setting(this, 'ACCESS_USERS', 'srhea@cloudflare.com')),
      allow: domains.length > 0 ? { emailDomains: domains } : undefined,
      region: setting(this, 'DO_REGION', 'nyc3'),
      size: setting(this, 'DO_SIZE', 's-1vcpu-1gb'),
    });
  }
}

const app = new App();
new AccessDropletStack(app, 'access-droplet');
app.synth();
