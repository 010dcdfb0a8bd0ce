// bench child (a): synthesizes N hosts with the built library, in a fresh node process.
// usage: node bench/fleet.js <N> <outdir> [infrastructure]; prints one JSON line with phase timings and maxRSS.
'use strict';
const t0 = performance.now();
const { createRequire } = require('module');
const path = require('path');

const n = Number(process.argv[2]);
const outdir = process.argv[3];
const infrastructure = process.argv[4] === 'infrastructure';
if (!Number.isInteger(n) || n < 1 || !outdir) {
  throw new Error('usage: node bench/fleet.js <N> <outdir>');
}

// resolve the package by name, as a consumer would: through the symlink run.js puts in
// bench/out/node_modules (falls back to the repo root when run by hand).
const linkRoot = process.env.BENCH_PKG_ROOT || path.join(__dirname, 'out');
let pkg;
try {
  pkg = createRequire(path.join(linkRoot, 'resolve.js'))('cdktf-access-droplet');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e;
  pkg = require('..');
}
const { App, TerraformStack } = require('cdktf');
const { CloudflareProvider } = require('@cdktf/provider-cloudflare/lib/provider');
const { DigitaloceanProvider } = require('@cdktf/provider-digitalocean/lib/provider');
const tRequire = performance.now();

const app = new App({ outdir });
const stack = new TerraformStack(app, 'bench');
new CloudflareProvider(stack, 'cloudflare', {});
new DigitaloceanProvider(stack, 'digitalocean', {});
new pkg.AccessDropletFleet(stack, 'Fleet', {
  accountId: '0123456789abcdef0123456789abcdef',
  ...(infrastructure ? {
    mode: 'infrastructure',
    infrastructureCaPublicKey: 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHkXtHcJDRNjTVr0wmS6nQ1W8Wm2W7mCV/Pv0Ykq8Qmly0eZHs4rz7MTeW3n8IzW9yJy9Zm3xJb7c9b4dH5W0Zk= open-ssh-ca@cloudflareaccess.org',
  } : { zoneId: 'fedcba9876543210fedcba9876543210' }),
  zoneName: 'widgetcorp.tech',
  name: 'web',
  users: ['srhea@cloudflare.com', { email: 'jane.doe@example.com', unixName: 'jdoe', sudo: true }],
  count: n,
  hostnamePattern: 'web-{index}.widgetcorp.tech',
});
const tConstruct = performance.now();
app.synth();
const tSynth = performance.now();

require('./report').report('library', n, { t0, tRequire, tConstruct, tSynth });
