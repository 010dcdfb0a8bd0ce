// the one place where literal text is made safe for Terraform's template language: every
// resource, data source and output config the constructs write passes through `literal`.

/**
 * Escapes Terraform template sequences (`${`, `%{`) in literal text so Terraform passes them
 * through unchanged, leaving cdktf's own token markers (`${TfToken[...]}`) to be resolved.
 */
export function escapeTerraformTemplate(text: string): string {
  // test first: most strings (user_data included) hold no literal sequence, and test() neither
  // allocates nor scans past the first match.
  return LITERAL_SEQUENCE.test(text) ? text.replace(LITERAL_SEQUENCES, '$1$1{') : text;
}

const LITERAL_SEQUENCE = /[$%]\{(?!TfToken\[)/;
const LITERAL_SEQUENCES = /([$%])\{(?!TfToken\[)/g;

// meta-arguments hold constructs and references, never text of ours.
const META = new Set(['dependsOn', 'provider', 'lifecycle', 'connection', 'count', 'forEach']);

/**
 * A resource config with every literal string escaped (see escapeTerraformTemplate), in plain
 * objects and arrays at any depth; token markers, numbers and non-plain objects (constructs,
 * tokens) are left as they are. Apply it once per config: escaping twice would double the `$`.
 */
export function literal<T>(config: T): T {
  return walk(config) as T;
}

function walk(value: unknown): unknown {
  if (typeof value === 'string') return escapeTerraformTemplate(value);
  if (Array.isArray(value)) return value.map(walk);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[k];
      out[k] = META.has(k) ? v : walk(v);
    }
    return out;
  }
  return value;
}
