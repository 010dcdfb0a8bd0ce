export * from './access-droplet';
export * from './access-policy-rules';
export * from './cloud-init';
export * from './ssh-config';
export * from './users';
