import { Token } from 'cdktf';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Throws unless `value` is a lower-case DNS name of at least two labels (tokens pass). */
export function validateHostname(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  const labels = typeof value === 'string' ? value.split('.') : [];
  if (
    typeof value !== 'string' || value.length > 253 || labels.length < 2 ||
    !labels.every((l) => LABEL.test(l)) || /^[0-9]+$/.test(labels[labels.length - 1])
  ) {
    throw new Error(
      `${field} ${JSON.stringify(value)} is not a DNS name; pass a lower-case name inside your Cloudflare zone, e.g. "ssh.example.com"`,
    );
  }
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

/** Throws unless `value` looks like a DigitalOcean region slug such as "nyc3" (tokens pass). */
export function validateRegion(field: string, value: unknown): void {
  if (typeof value === 'string' && Token.isUnresolved(value)) return;
  validateSlug(field, value);
  if (!/^[a-z]{3}[0-9]{1,2}$/.test(value as string)) {
    throw new Error(`${field} ${JSON.stringify(value)} is not a DigitalOcean region slug: three letters and a digit, e.g. "nyc3", "fra1", "sgp1"`);
  }
}
