export * from './access-droplet';
export { escapeTerraformTemplate, openEgressRules } from './internal/parts';
export * from './access-policy-rules';
export * from './access-rule';
export * from './cloud-init';
export * from './ssh-config';
export * from './users';
export * from './access-droplet-fleet';
export * from './state-backend';
