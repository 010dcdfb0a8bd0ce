// names that must be unique across a whole stack: two constructs that share a hostname, a tunnel
// name, a firewall name or a tag would fight over the same DNS record, tunnel or firewall during
// apply. Each construct claims its names when it is built; the second claim fails at synth.
import { TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';

const claims = new WeakMap<TerraformStack, Map<string, { path: string }>>();

/**
 * Claims `value` as a `kind` (e.g. "hostname") for the construct at `path`; throws, naming the
 * value and both constructs, when another construct of the stack holds it. `fix` says what to do.
 */
export function claimName(scope: Construct, kind: string, value: string, path: string, fix: string): void {
  if (Token.isUnresolved(value)) return;
  const stack = TerraformStack.of(scope);
  let names = claims.get(stack);
  if (names === undefined) {
    names = new Map();
    claims.set(stack, names);
  }
  const key = `${kind}\u0000${value.toLowerCase()}`;
  const before = names.get(key);
  if (before !== undefined) {
    throw new Error(`${kind} "${value}" is used by both ${before.path} and ${path}; ${fix}`);
  }
  names.set(key, { path });
}
