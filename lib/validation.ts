import { Token } from 'cdktf';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Throws unless `value` is a lower-case DNS name of at least two labels (tokens pass), saying why. */
export function validateHostname(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  const why = hostnameProblem(value);
  if (why !== undefined) {
    throw new Error(
      `${field} ${JSON.stringify(value)} is not a DNS name: ${why}; pass a lower-case name inside your Cloudflare zone, e.g. "ssh.example.com"`,
    );
  }
}

/** why `value` is no lower-case DNS name of at least two labels, or undefined when it is one. */
function hostnameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `it is a ${value === null ? 'null' : typeof value}, not a string`;
  if (value.length > 253) return `it is ${value.length} characters long, over DNS's 253`;
  const labels = value.split('.');
  if (labels.length < 2) return 'it has one label; a hostname needs at least two (name and zone)';
  for (const l of labels) {
    if (l.length === 0) return 'it has an empty label (two dots in a row, or a dot at an end)';
    if (l.length > 63) return `its label "${l.slice(0, 20)}..." is ${l.length} characters long, over DNS's 63 per label`;
    if (/[A-Z]/.test(l)) return `it has upper-case letters ("${l}"); Cloudflare and cloud-init use the lower-case name`;
    if (!LABEL.test(l)) return `its label "${l}" has characters other than a-z, 0-9 and "-" inside, or starts or ends with "-"`;
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return 'its last label is a number, which makes it an IP address, not a name';
  return undefined;
}

/** Throws unless `value` is a non-empty identifier without white space (tokens pass). */
export function validateId(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) {
    throw new Error(`${field} ${JSON.stringify(value)} must be a non-empty Cloudflare id (letters and digits); copy it from the dashboard`);
  }
}

/** Throws unless `value` is a DigitalOcean slug such as "nyc3" or "s-1vcpu-1gb" (tokens pass). */
export function validateSlug(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(value)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not a DigitalOcean slug (e.g. "nyc3", "s-1vcpu-1gb", "ubuntu-24-04-x64")`);
  }
}

/** Throws unless `value` is a name DigitalOcean accepts for tags (tokens pass). */
export function validateTag(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !/^[A-Za-z0-9:_-]{1,255}$/.test(value)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not a DigitalOcean tag (letters, digits, ":", "-", "_")`);
  }
}

/** The image slugs the cloud-config is tested on: apt, systemd, OpenSSH, cloud-init. */
export const SUPPORTED_IMAGE_SLUGS = ['ubuntu-24-04-x64', 'ubuntu-22-04-x64', 'debian-12-x64', 'debian-13-x64'];

// DigitalOcean's other distributions: none has apt, so cloudflared is never installed.
const OTHER_DISTRIBUTIONS = /^(centos|fedora|rockylinux|rocky|almalinux|alma|freebsd|opensuse|arch|rhel|redhat|gentoo|coreos|rancheros)/;

/**
 * Throws unless `value` is a supported Debian/Ubuntu image slug or a numeric snapshot/custom
 * image id (tokens pass). Returns true for a numeric id, which the caller warns about: the image
 * must be Debian or Ubuntu based, and nothing here can tell.
 */
export function validateImage(field: string, value: unknown): boolean {
  if (typeof value === 'string' && Token.isUnresolved(value)) return false;
  if (typeof value === 'number' || (typeof value === 'string' && /^[0-9]+$/.test(value))) return true;
  validateSlug(field, value);
  const slug = value as string;
  if (SUPPORTED_IMAGE_SLUGS.includes(slug)) return false;
  const supported = SUPPORTED_IMAGE_SLUGS.map((s) => `"${s}"`).join(', ');
  if (OTHER_DISTRIBUTIONS.test(slug)) {
    throw new Error(
      `${field} "${slug}" is not Debian or Ubuntu: the cloud-config installs cloudflared with apt, so the tunnel would never come up; use ${supported}`,
    );
  }
  throw new Error(
    `${field} "${slug}" is not a supported image slug; use ${supported}, or the numeric id of a Debian/Ubuntu based snapshot or custom image`,
  );
}

/**
 * The shapes of DigitalOcean's droplet size slugs (`doctl compute size list`): Basic
 * (`s-1vcpu-1gb`, `s-1vcpu-512mb-10gb`, `s-2vcpu-4gb-amd`, `s-1vcpu-1gb-35gb-intel`), General
 * Purpose (`g-`, `gd-`), Memory-Optimized (`m-`, `m3-`, `m6-`), Storage-Optimized (`so-`,
 * `so1_5-`), CPU-Optimized (`c-2`, `c2-2vcpu-4gb`, `c-4-intel`) and GPU (`gpu-h100x1-80gb`).
 */
const SIZE_SLUG = /^(?:(?:s|g|gd|m|m3|m6|so|so1_5|c2)-[0-9]+vcpu-[0-9]+(?:mb|gb)(?:-[0-9]+gb)?(?:-(?:intel|amd))?|c-[0-9]+(?:-intel)?|gpu-[a-z0-9]+x[0-9]+-[0-9]+gb)$/;

/** Throws unless `value` is a DigitalOcean droplet size slug such as "s-1vcpu-1gb" (tokens pass). */
export function validateSize(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  if (typeof value !== 'string' || !SIZE_SLUG.test(value)) {
    const near = typeof value === 'string' && /^s-[0-9]+vcpu-[0-9]+g$/.test(value) ? `; did you mean "${value}b"?` : '';
    throw new Error(
      `${field} ${JSON.stringify(value)} is not a DigitalOcean droplet size slug, e.g. "s-1vcpu-1gb", "s-2vcpu-4gb-amd", "g-2vcpu-8gb" or "c-2" ` +
      `(doctl compute size list)${near}`,
    );
  }
}

/** Throws unless `value` looks like a DigitalOcean region slug such as "nyc3" (tokens pass). */
export function validateRegion(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  validateSlug(field, value);
  if (!/^[a-z]{3}[0-9]{1,2}$/.test(value as string)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not a DigitalOcean region slug: three letters and a digit, e.g. "nyc3", "fra1", "sgp1"`);
  }
}
