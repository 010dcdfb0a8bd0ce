// shared helpers for the tests that check the rendered cloud-config with the real programs a
// droplet runs (cloud-init, sshd, systemd), on this Debian machine instead of in a VM, split by
// concern; import them from here.
export * from './process';
export * from './requirements';
export * from './files';
export * from './cloud-config';
export * from './sshd';
export * from './host';
export * from './terraform';
export * from './stand-in';
export * from './library-stacks';
export * from './released-wiring';
