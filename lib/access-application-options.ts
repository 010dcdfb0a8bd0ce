// the Access application options both constructs take, and the client side of it.

/** The Access application and client settings shared by AccessDroplet and AccessDropletFleet. */
export interface AccessApplicationOptions {
  /**
   * How long an Access login lasts before the user signs in to the identity provider again.
   *
   * @default - Cloudflare's default (24h)
   */
  readonly accessSessionDuration?: string;

  /**
   * A label for the short-lived certificate CA (self-hosted mode): change it (e.g. "1" to "2")
   * and the next deploy replaces the CA, and so every droplet that trusts it (its user_data holds
   * the key). Setting it the first time on a deployed stack replaces nothing; only a change does.
   *
   * @default - none (the CA is never replaced)
   */
  readonly accessCaVersion?: string;

  /**
   * The cloudflared command in the `sshConfig` output, for clients where it is not on PATH.
   *
   * @default "cloudflared"
   */
  readonly clientCloudflaredPath?: string;

  /**
   * The Zero Trust team name, the first label of the organization's auth domain
   * (`<team>.cloudflareaccess.com`): cloudflared checks every connection's Access token against
   * this team's keys and the application's audience ("Protect with Access" on the tunnel's ingress
   * rule), so a request that did not pass this application never reaches sshd, even if the
   * application is deleted or misconfigured. Self-hosted mode.
   *
   * Given or not, it is checked against the organization (data source
   * `cloudflare_zero_trust_organization`, which needs the API token permission Access:
   * Organizations, Identity Providers, and Groups Read): a team name that is not the account's
   * fails the plan, instead of a tunnel that refuses everyone.
   *
   * @default - read from the organization's auth domain
   */
  readonly accessTeamName?: string;

  /**
   * Whether Cloudflare renders an SSH terminal in the browser for this host (an Access
   * application of type `ssh`): people sign in at `https://<hostname>` or from the App Launcher,
   * with no cloudflared on their machine, and get a short-lived certificate like the client
   * does. The cloudflared client path keeps working. The browser logs in as the email's local
   * part, so people whose Unix name differs can use only the client. Self-hosted mode.
   *
   * @default false
   * @see https://developers.cloudflare.com/cloudflare-one/applications/non-http/browser-rendering/
   */
  readonly browserSsh?: boolean;
}

/** every key of AccessApplicationOptions: the constructs refuse keys they do not know. */
export const ACCESS_APPLICATION_OPTION_KEYS: Record<keyof AccessApplicationOptions, true> = {
  accessSessionDuration: true,
  accessCaVersion: true,
  clientCloudflaredPath: true,
  accessTeamName: true,
  browserSsh: true,
};
