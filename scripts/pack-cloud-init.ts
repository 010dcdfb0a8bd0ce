// Writes cloud-init/<script>.gz.b64 for the scripts the cloud-config ships compressed (the
// accounts agent is about 35 KB; DigitalOcean's user_data holds 64 KiB): the gzip of the script,
// base64, which cloud-init's write_files decodes (`encoding: gz+b64`). The packed file is
// committed, so the user_data of a release is the same on every machine (zlib builds differ in
// the bytes they write); __tests__/cloud-init.test.ts fails, with this command, when it is stale.
// usage: npx ts-node --transpile-only scripts/pack-cloud-init.ts
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { gzipSync } from 'zlib';
import { PACKED_SCRIPTS } from '../lib/cloud-init';

const dir = join(__dirname, '..', 'cloud-init');
for (const name of PACKED_SCRIPTS) {
  const packed = gzipSync(readFileSync(join(dir, name)), { level: 9 }).toString('base64');
  writeFileSync(join(dir, `${name}.gz.b64`), `${packed}\n`);
  console.log(`cloud-init/${name}.gz.b64: ${packed.length} characters`);
}
