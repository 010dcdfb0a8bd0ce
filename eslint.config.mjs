// lint for the library and its tests: mainly, provider classes are imported by deep path,
// because a provider's barrel module costs about half a second of load time per synth.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'cdktf.out/**', '.gen/**', 'bench/out/**', '**/*.d.ts'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          { name: '@cdktf/provider-cloudflare', message: 'import the class by deep path, e.g. @cdktf/provider-cloudflare/lib/dns-record' },
          { name: '@cdktf/provider-digitalocean', message: 'import the class by deep path, e.g. @cdktf/provider-digitalocean/lib/droplet' },
          { name: '@cdktf/provider-null', message: 'import the class by deep path, e.g. @cdktf/provider-null/lib/resource' },
        ],
      }],
    },
  },
);
