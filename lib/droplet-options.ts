// the droplet options both constructs take: where and how each droplet runs, what it does at
// first boot besides our cloud-config, and what replaces it.

/** The droplet settings shared by AccessDroplet and AccessDropletFleet. */
export interface DropletOptions {
  /**
   * The DigitalOcean region.
   *
   * @default "nyc3"
   * @see https://docs.digitalocean.com/platform/regional-availability/
   */
  readonly region?: string;

  /**
   * The droplet size slug.
   *
   * @default "s-1vcpu-1gb"
   * @see https://slugs.do-api.dev/
   */
  readonly size?: string;

  /**
   * The droplet image slug. The cloud-config expects Ubuntu or Debian (apt, systemd, OpenSSH).
   *
   * @default "ubuntu-24-04-x64"
   */
  readonly image?: string;

  /**
   * Extra DigitalOcean tags on the droplet (on every droplet of a fleet).
   *
   * @default - none (a fleet adds its own tag)
   */
  readonly tags?: string[];

  /**
   * Whether the droplet runs DigitalOcean's metrics agent.
   *
   * @default true
   */
  readonly monitoring?: boolean;

  /**
   * The VPC to place the droplet in.
   *
   * @default - the region's default VPC
   */
  readonly vpcUuid?: string;

  /**
   * The apt repository cloudflared is installed from (Cloudflare's, or a mirror of it).
   *
   * @default "https://pkg.cloudflare.com/cloudflared"
   */
  readonly cloudflaredAptUrl?: string;

  /**
   * The apt suite of `cloudflaredAptUrl`.
   *
   * @default "any"
   */
  readonly cloudflaredAptSuite?: string;

  /**
   * The apt component of `cloudflaredAptUrl`.
   *
   * @default "main"
   */
  readonly cloudflaredAptComponent?: string;

  /**
   * Where the droplet downloads the key that signs `cloudflaredAptUrl`. Cloudflare rotated this
   * key in November 2025; override it if Cloudflare moves it again or you mirror the repository.
   *
   * @default "https://pkg.cloudflare.com/cloudflare-main.gpg"
   */
  readonly cloudflaredAptKeyUrl?: string;

  /**
   * Whether the droplet keeps cloudflared current from `cloudflaredAptUrl`, never leaving the host
   * without a running connector.
   *
   * Daily (at a random time per host, 00:00-06:00 UTC), a newer release is installed, the tunnel
   * restarted onto it (which ends the SSH sessions open through it) and checked. A release that
   * does not come up is rolled back to the previous binary and skipped. Cloudflare supports each
   * cloudflared release for a year, and Debian's and Ubuntu's unattended upgrades do not cover its
   * repository. `false` leaves cloudflared at the version installed at first boot.
   *
   * @default true
   */
  readonly cloudflaredAutoUpdate?: boolean;

  /**
   * Whether every process with UID 1000 and up (every Access user, however it starts a program)
   * is kept from DigitalOcean's metadata service, which serves the droplet's user_data, tunnel
   * token included, to any local process.
   *
   * Two layers: systemd's IP filter on every slice, which no firewall change touches, and an
   * nftables rule. Only cloud-init's units, DigitalOcean's agents and the accounts agent reach
   * the metadata service; root elsewhere (a `sudo` shell) uses
   * `sudo systemd-run -p IPAddressAllow=169.254.169.254 --wait --pipe curl ...`.
   *
   * @default true
   */
  readonly restrictMetadataService?: boolean;

  /**
   * Whether Access users may forward TCP connections from the droplet (`ssh -L`, `-D`, `-W`),
   * e.g. to reach a database that listens only on the host. Each of them can then reach
   * whatever the droplet reaches: services on its loopback (cloudflared's metrics endpoint among
   * them), other droplets in its VPC, the internet; the construct warns about it. Agent, X11,
   * unix-socket, tunnel-device and remote (`ssh -R`) forwarding stay off either way.
   *
   * @default false
   */
  readonly allowPortForwarding?: boolean;

  /**
   * Whether `cdktf deploy` waits until the tunnel reports healthy connections (so SSH through
   * Access can work when it returns). It runs a small Node.js poller from a `local-exec`
   * provisioner on a `null_resource`: configure the `null` provider in your stack, and export
   * `CLOUDFLARE_API_TOKEN` (the token needs Account › Cloudflare Tunnel › Read).
   *
   * Only a connector that started after the droplet was created counts: when a droplet is
   * replaced (created before the old one is destroyed), the old droplet is destroyed only once the
   * new one's cloudflared is connected, and a new droplet that never connects fails the deploy
   * while the old one still serves.
   *
   * @default false
   */
  readonly waitForReady?: boolean;

  /**
   * How long `waitForReady` waits for a healthy tunnel before it fails the deploy.
   *
   * @default 600
   */
  readonly waitForReadyTimeoutSec?: number;

  /**
   * Whether DigitalOcean takes weekly backups of the droplet (they cost 20% of the droplet's price).
   *
   * @default false
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#backups
   */
  readonly backups?: boolean;

  /**
   * Whether the droplet gets a public IPv6 address (the firewall still has no inbound rule).
   *
   * @default false
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#ipv6
   */
  readonly ipv6?: boolean;

  /**
   * Block storage volumes (ids) to attach to the droplet. A volume attaches to one droplet only,
   * so a fleet with more than one host cannot share them. cloud-init does not format or mount
   * them: do that in `extraCloudConfig` (`fs_setup`, `mounts`).
   *
   * @default - none
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#volume_ids
   */
  readonly volumeIds?: string[];

  /**
   * The DigitalOcean project (id) the droplet is assigned to, with a
   * `digitalocean_project_resources` resource.
   *
   * @default - the account's default project
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/project_resources
   */
  readonly projectId?: string;

  /**
   * Whether DigitalOcean shuts the droplet down gracefully (ACPI) before it powers it off, e.g.
   * for a resize or a destroy.
   *
   * @default false
   * @see https://registry.terraform.io/providers/digitalocean/digitalocean/latest/docs/resources/droplet#graceful_shutdown
   */
  readonly gracefulShutdown?: boolean;

  /**
   * Your own first-boot configuration, as a cloud-config object (e.g. `{ packages: ["htop"] }`).
   * It goes into `user_data` as a second MIME part after ours, merged by cloud-init with
   * `list(append)+dict(no_replace,recurse_list)`: your lists come after ours, and where both set
   * the same key ours wins. Accepted without an opt-in: only keys known to be inert: `packages`
   * (Debian names, optional `=version`), `package_update`/`package_upgrade`/
   * `package_reboot_if_required`, `timezone`, `write_files` below `/opt/` or `/srv/` (no
   * setuid/setgid/sticky bits), and `fs_setup`/`mounts` of DigitalOcean volumes (mount points
   * below `/mnt`, `/srv`, `/opt`, `/data`, with `nosuid,nodev`). Anything else is refused at
   * synth, naming the key and why, unless `dangerouslyRunExtraCloudConfigAsRoot` is true.
   *
   * @default - none
   * @see https://cloudinit.readthedocs.io/en/latest/reference/merging.html
   */
  readonly extraCloudConfig?: { [key: string]: any };

  /**
   * Whether `extraCloudConfig` may use cloud-config beyond the keys known to be inert (`runcmd`,
   * `bootcmd`, `users`, `write_files` outside `/opt` and `/srv`, `apt`, `snap`, ...).
   *
   * Everything in it runs as root at first boot and can undo every guarantee of this library:
   * accounts, sudo, sshd, the metadata guard. A warning names what runs as root.
   * `merge_how`/`merge_type` stay refused.
   *
   * @default false
   */
  readonly dangerouslyRunExtraCloudConfigAsRoot?: boolean;

  /**
   * Whether a change of `user_data` (the CA key, the tunnel token, the apt source,
   * `extraCloudConfig`, `allowPortForwarding`, `restrictMetadataService`) replaces the droplet, as
   * DigitalOcean requires. Users are not in `user_data` (they travel in the droplet's tags, which
   * change in place), so this is not needed to keep a droplet when people change. `false` keeps
   * the droplet and its disk (Terraform's `ignore_changes` on `user_data`), and the change does not
   * reach it; a new CA key or tunnel token still replaces it, since the old one could no longer be
   * reached.
   *
   * @default true
   */
  readonly userDataCausesReplacement?: boolean;

  /**
   * Whether a droplet that must be replaced (a new image, region, CA key or tunnel token, or other
   * user_data) is created before the old one is destroyed (Terraform's `create_before_destroy`).
   * The new droplet runs a second connector on the same tunnel, so SSH through Access keeps
   * working while it boots; the old one goes once the new one exists.
   *
   * Not possible, and refused, with `volumeIds` (a volume attaches to one droplet only) or
   * `accessCaVersion` (Terraform would create the new CA before destroying the old one, and
   * Cloudflare keeps one CA per application): then the old droplet is destroyed first.
   *
   * @default - true, unless `volumeIds` or `accessCaVersion` is set
   */
  readonly dropletCreateBeforeDestroy?: boolean;

  /**
   * Whether Terraform refuses every plan that would destroy a droplet (`prevent_destroy`):
   * a replacement, `cdktf destroy`, or removing the host. In-place changes (size, tags, users)
   * still apply. To destroy one on purpose, set it to false for that deploy.
   *
   * @default false
   */
  readonly dropletPreventDestroy?: boolean;
}

/** every key of DropletOptions: the constructs refuse keys they do not know. */
export const DROPLET_OPTION_KEYS: Record<keyof DropletOptions, true> = {
  region: true,
  size: true,
  image: true,
  tags: true,
  monitoring: true,
  vpcUuid: true,
  cloudflaredAptUrl: true,
  cloudflaredAptSuite: true,
  cloudflaredAptComponent: true,
  cloudflaredAptKeyUrl: true,
  cloudflaredAutoUpdate: true,
  restrictMetadataService: true,
  allowPortForwarding: true,
  waitForReady: true,
  waitForReadyTimeoutSec: true,
  backups: true,
  ipv6: true,
  volumeIds: true,
  projectId: true,
  gracefulShutdown: true,
  extraCloudConfig: true,
  dangerouslyRunExtraCloudConfigAsRoot: true,
  userDataCausesReplacement: true,
  dropletCreateBeforeDestroy: true,
  dropletPreventDestroy: true,
};
