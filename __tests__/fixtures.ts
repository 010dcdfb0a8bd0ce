import { Testing, TerraformStack } from 'cdktf';
import { AccessDroplet, AccessDropletFleetProps, AccessDropletProps } from '../lib';
import { ACCOUNT_TAG_PREFIX, AccountRecord, decodeAccountTags } from '../lib/account-tags';

/** the smallest valid props, as in the README. */
export const minimalProps: AccessDropletProps = {
  accountId: 'acc123',
  zoneId: 'zone123',
  hostname: 'droplet.widgetcorp.tech',
  users: ['srhea@cloudflare.com'],
};

/** a CA public key shaped like the one Access issues. */
export const CA_KEY =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHkXtHcJDRNjTVr0wmS6nQ1W8Wm2W7mCV/Pv0Ykq8Qmly0eZHs4rz7MTeW3n8IzW9yJy9Zm3xJb7c9b4dH5W0Zk= open-ssh-ca@cloudflareaccess.org';

/** a fake tunnel token (base64 of the JSON Cloudflare puts in real ones). */
export const TUNNEL_TOKEN = Buffer.from(
  JSON.stringify({ a: '0123456789abcdef0123456789abcdef', t: '6ff42ae2-765d-4adf-8112-31c55c1551ef', s: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ=' }),
).toString('base64');

/** the resources of one type in a synthesized stack, by logical id (user_data inlined). */
export function resourcesOf(synth: string, type: string): Record<string, any>[] {
  const parsed = inlineUserData(JSON.parse(synth));
  return Object.values(parsed.resource?.[type] ?? {});
}

/** a reference to one text part of a cloud-config local, as the build writes it into user_data. */
const TEXT_REFERENCE = /\$\{local\.([\w-]+)\[(\d+)\]\}/g;

/**
 * `json` (a parsed synth) with every droplet's user_data written out whole: each reference to the
 * text of a cloud-config local replaced by that text, which is what Terraform does when it
 * evaluates user_data (both are template text, so the escapes carry over unchanged;
 * __tests__/real/terraform-render.test.ts proves it with terraform). Fails on a reference that
 * names no local or no part of it. Returns `json`, changed in place.
 */
export function inlineUserData(json: any): any {
  for (const droplet of Object.values(json.resource?.digitalocean_droplet ?? {}) as any[]) {
    if (typeof droplet.user_data !== 'string') continue;
    droplet.user_data = droplet.user_data.replace(TEXT_REFERENCE, (ref: string, name: string, index: string) => {
      const text = json.locals?.[name]?.[Number(index)];
      if (typeof text !== 'string') throw new Error(`user_data refers to ${ref}, which the synth does not define`);
      return text;
    });
  }
  return json;
}

/** a stack of its own, for tests that synthesize more than one construct or a whole stack. */
export function newStack(): TerraformStack {
  return new TerraformStack(Testing.app(), 'stack');
}

/** an AccessDroplet "Test" with {@link minimalProps} plus `props`. */
export function newDroplet(props: Partial<AccessDropletProps>, stack = newStack()): AccessDroplet {
  return new AccessDroplet(stack, 'Test', { ...minimalProps, ...props } as AccessDropletProps);
}

/** the parsed synth of a stack holding one {@link newDroplet}. */
export function synthDroplet(props: Partial<AccessDropletProps>): any {
  const stack = newStack();
  newDroplet(props, stack);
  return inlineUserData(JSON.parse(Testing.synth(stack)));
}

/** the one resource of `type` in a parsed synth; fails the test unless there is exactly one. */
export function onlyResource(json: any, type: string): any {
  const values = Object.values(json.resource[type] ?? {}) as any[];
  expect(values).toHaveLength(1);
  return values[0];
}

/** the warnings a construct added to its node. */
export function warningsOf(c: { node: { metadata: { type: string; data: unknown }[] } }): string[] {
  return c.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
}

/** a two-host fleet, the smallest valid AccessDropletFleetProps. */
export const fleetProps: AccessDropletFleetProps = {
  accountId: 'acc123', zoneId: 'zone123', zoneName: 'widgetcorp.tech', name: 'web', users: ['srhea@cloudflare.com'],
  hosts: [{ hostname: 'a.widgetcorp.tech' }, { hostname: 'b.widgetcorp.tech' }],
};

/** the accounts a droplet's tags carry (what its accounts agent creates), by Unix name. */
export function accountsOf(droplet: { tags?: string[] }): Record<string, AccountRecord> {
  const decoded = decodeAccountTags((droplet.tags ?? []).filter((t) => t.startsWith(ACCOUNT_TAG_PREFIX)));
  if ('error' in decoded) throw new Error(`the droplet's account tags do not decode: ${decoded.error}`);
  return Object.fromEntries(decoded.accounts.map((a) => [a.name, a]));
}
