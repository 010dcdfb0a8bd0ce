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
