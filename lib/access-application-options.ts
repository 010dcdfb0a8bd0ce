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
}

/** every key of AccessApplicationOptions: the constructs refuse keys they do not know. */
export const ACCESS_APPLICATION_OPTION_KEYS: Record<keyof AccessApplicationOptions, true> = {
  accessSessionDuration: true,
  accessCaVersion: true,
  clientCloudflaredPath: true,
};
