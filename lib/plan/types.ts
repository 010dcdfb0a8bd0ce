// What a construct builds, as plain data: the result of planning (lib/plan/*), the input of
// building (lib/build/*). A plan holds no construct and no token, so it can be made, compared
// and tested without a stack. Paths are construct ids below the construct being built; they are
// part of every Terraform address, so they never change for an existing resource.
import { AccessMode } from '../access-mode';
import { AccessRule } from '../access-rule';
import { UserDataTemplate } from '../cloud-init';
import { AccountHolder, AdmissionOptIns } from './admission';

/** Everything one AccessDroplet or AccessDropletFleet builds. */
export interface AccessPlan {
  readonly mode: AccessMode;
  readonly accountId: string;
  /** warnings for the construct, in order, each once. */
  readonly warnings: readonly string[];
  /** names that must be unique in the stack; claimed when the plan is built. */
  readonly claims: readonly NameClaim[];
  /** the construct ids created first, before anything else (e.g. `Access`). */
  readonly scopes: readonly ScopePath[];
  /** the poller of `waitForReady`, when set. */
  readonly readiness?: ReadinessPlan;
  /** the reusable allow policy every self-hosted application uses, when the construct defines one. */
  readonly policy?: PolicyPlan;
  /** the DigitalOcean tag the droplets carry and the firewall (no inbound rule) that applies by it. */
  readonly firewall: FirewallPlan;
  /** the Access applications shared by several hosts (a fleet's access groups), in order. */
  readonly sharedApplications: readonly ApplicationPlan[];
  /** the hosts, in order. */
  readonly hosts: readonly HostPlan[];
  /** the client's `~/.ssh/config` text, when it holds no token (self-hosted mode). */
  readonly sshConfig?: string;
  /** what the user accepted of the admission invariant (plan/admission.ts), checked again at synth. */
  readonly admissionOptIns: AdmissionOptIns;
  /**
   * self-hosted: cloudflared protects every public hostname with Access at the origin, for this
   * team (given, and checked against the organization; or read from it).
   */
  readonly origin?: { readonly path: ScopePath; readonly teamName?: string };
}

/** construct ids from the construct being built down to a scope; `[]` is the construct itself. */
export type ScopePath = readonly string[];

/** a name that may be used once per stack (see lib/internal/unique-names.ts). */
export interface NameClaim {
  readonly kind: string;
  readonly value: string;
  /** appended to the construct's path to say who holds it, e.g. ` (host a.example.com)`. */
  readonly where: string;
  readonly fix: string;
}

export interface ReadinessPlan {
  readonly timeoutSec: number;
  /** where the poller script asset goes; a fleet defines one for all hosts, first. */
  readonly scriptPath: ScopePath;
  readonly scriptFirst: boolean;
}

export interface FirewallPlan {
  readonly path: ScopePath;
  readonly tagName: string;
  readonly name: string;
}

/** a reusable allow policy. */
export interface PolicyPlan {
  readonly path: ScopePath;
  readonly id: string;
  readonly name: string;
  readonly include: readonly AccessRule[];
  readonly require: readonly AccessRule[];
  readonly exclude: readonly AccessRule[];
}

/** where an application's reusable policies come from, in order of precedence. */
export type PolicySource =
  | { readonly shared: true }
  | { readonly existing: string }
  | { readonly own: PolicyPlan };

/** one Access application, self-hosted or for infrastructure, and what it trusts. */
export interface ApplicationPlan {
  readonly key: string;
  readonly path: ScopePath;
  readonly kind: 'self_hosted' | 'infrastructure';
  /** self-hosted: an SSH terminal rendered in the browser (application type `ssh`). */
  readonly browserSsh?: boolean;
  readonly name: string;
  readonly hostnames: readonly string[];
  readonly allowedIdps?: string[];
  readonly autoRedirectToIdentity?: boolean;
  readonly tags?: string[];
  /** self-hosted: the reusable policies, and the short-lived certificate CA. */
  readonly policies: readonly PolicySource[];
  readonly sessionDuration?: string;
  readonly caVersion?: string;
  /**
   * self-hosted: who has accounts on the application's hosts, checked against the final include
   * rules of its policies at synth (plan/admission.ts), under this name.
   */
  readonly admission?: { readonly where: string; readonly accounts: readonly AccountHolder[] };
  /** infrastructure: one inline policy per person, allowing only their own Unix name. */
  readonly userPolicies: readonly { readonly name: string; readonly email: string; readonly unixName: string }[];
  readonly require: readonly AccessRule[];
  readonly exclude: readonly AccessRule[];
}

/** one host: its tunnel, how clients reach it, its droplet. */
export interface HostPlan {
  readonly hostname: string;
  /** the host's scope; `[]` for an AccessDroplet, `['Hosts', id]` for a fleet host. */
  readonly path: ScopePath;
  /** the scope of the host's own Access resources. */
  readonly accessPath: ScopePath;
  /** the tunnel's name. */
  readonly tunnelName: string;
  /** the application that covers this host: its own (defined with it), or a shared one by key. */
  readonly application: { readonly own: ApplicationPlan } | { readonly shared: string };
  /**
   * self-hosted: an ingress rule and a proxied DNS record for the hostname; infrastructure: a
   * private route to the droplet and a target at its address.
   */
  readonly reach: 'public-hostname' | 'private-route';
  readonly zoneId?: string;
  readonly virtualNetworkId?: string;
  readonly droplet: DropletPlan;
}

export interface DropletPlan {
  readonly name: string;
  readonly image: string;
  readonly region: string;
  readonly size: string;
  readonly monitoring: boolean;
  readonly vpcUuid?: string;
  /** tags besides the construct's own tag (which comes first). */
  readonly tags: readonly string[];
  readonly backups?: boolean;
  readonly ipv6?: boolean;
  readonly gracefulShutdown?: boolean;
  readonly volumeIds?: readonly string[];
  readonly projectId?: string;
  readonly userData: UserDataTemplate;
  /** the CA key as a literal (infrastructure mode); otherwise the application's certificate. */
  readonly caPublicKey?: string;
  /** userDataCausesReplacement: false: keep the droplet unless the CA key or token changes. */
  readonly keepOnUserDataChange: boolean;
  /** a replacement droplet is created before the old one is destroyed. */
  readonly createBeforeDestroy: boolean;
  /** Terraform refuses any plan that would destroy the droplet. */
  readonly preventDestroy: boolean;
}
