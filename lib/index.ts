// the public API: what jsii compiles for every language. Helpers used between modules stay
// exported from their own files only.
export { AccessDroplet, AccessDropletProps } from './access-droplet';
export { AccessMode } from './access-mode';
export { AccessDropletFleet, AccessDropletFleetProps, FleetHost, FleetHostResources } from './access-droplet-fleet';
export { AccessApplicationOptions } from './access-application-options';
export { AccessAllow, AccessPolicyOptions } from './access-policy-rules';
export { AccessRule } from './access-rule';
export { DropletOptions } from './droplet-options';
export { AccountTagsOptions, CertificatePrincipals, CloudInit, CloudInitOptions, renderAccountTags, renderCloudInit } from './cloud-init';
export { SshConfig } from './ssh-config';
export { StateBackend, StateBackendOptions } from './state-backend';
export { AccessUser, AccessUserInput, UnixNameStyle, UnixNaming } from './users';
