// The provider classes' synthesizeAttributes() lists every attribute and nested-block field of the
// schema, set or not: an Access application's body has 66 keys, 47 of them undefined. cdktf then
// copies (processDynamicAttributes, deepMerge) and resolves every key of it at each of its
// resolve passes (prepareStack, then toTerraform), making a resolve context per key, only to drop
// the undefined ones. Those keys were about a third of the synth's resolve time for a fleet.
import { TerraformDataSource, TerraformResource } from 'cdktf';

/**
 * `value` without the undefined properties of its plain objects, at any depth (arrays keep their
 * length; tokens and other non-plain objects are kept as they are). cdktf resolves a missing key
 * and an undefined one alike: both leave no key in the JSON, and deepMerge deletes a key that an
 * override sets to undefined either way.
 */
export function withoutUndefined(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      const p = withoutUndefined(v);
      if (p !== v) (copy ??= value.slice())[i] = p;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype || typeof (value as { resolve?: unknown }).resolve === 'function') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = withoutUndefined(v);
  }
  return out;
}

interface Synthesizing { synthesizeAttributes(): Record<string, unknown> }

// one function for every element: it calls the class's own synthesizeAttributes.
function leanAttributes(this: Synthesizing): Record<string, unknown> {
  const own = Object.getPrototypeOf(this) as Synthesizing;
  return withoutUndefined(own.synthesizeAttributes.call(this)) as Record<string, unknown>;
}

/**
 * `element`, synthesizing its attributes without the undefined ones (see withoutUndefined): the
 * same JSON, at a fraction of cdktf's resolve work. Only on elements the build creates.
 */
export function lean<T extends TerraformResource | TerraformDataSource>(element: T): T {
  Object.defineProperty(element, 'synthesizeAttributes', { value: leanAttributes, writable: true, configurable: true });
  return element;
}
