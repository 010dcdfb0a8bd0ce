// the one place where literal text is made safe for Terraform's template language.

/**
 * Escapes Terraform template sequences (`${`, `%{`) in literal text so Terraform passes them
 * through unchanged, leaving cdktf's own token markers (`${TfToken[...]}`) to be resolved.
 */
export function escapeTerraformTemplate(text: string): string {
  return text.replace(/([$%])\{(?!TfToken\[)/g, '$1$1{');
}
