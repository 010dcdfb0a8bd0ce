/** How people reach an {@link AccessDroplet} or the hosts of an {@link AccessDropletFleet}. */
export enum AccessMode {
  /** A self-hosted Access application and its short-lived certificate CA (the default). */
  SELF_HOSTED = 'self_hosted',
  /** Access for Infrastructure: a target, per-user SSH policies, WARP on the client. */
  INFRASTRUCTURE = 'infrastructure',
}
