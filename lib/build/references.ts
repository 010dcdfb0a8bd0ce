// References from one element the build creates to another, in the same stack, written as the
// Terraform expressions cdktf would resolve their tokens to. A token costs a creation stack and a
// TokenMap entry when it is made, and a resolve at each of cdktf's two resolve passes over every
// element (prepareStack, then toTerraform); a fleet makes several per host. An element's logical
// id is fixed once read (cdktf caches it, as reading any attribute token of it does), so the text
// cannot go stale. Only for attributes of elements this build creates: a reference across stacks
// needs cdktf's token (it adds the remote state), and what the constructs expose stays a token.
import { TerraformDataSource, TerraformLocal, TerraformResource } from 'cdktf';

/**
 * `type.name` (`data.type.name` for a data source), no `${}` around: also what
 * replace_triggered_by needs, where cdktf 0.21 writes "${type.name}", which Terraform rejects
 * ("Invalid character").
 */
export function addressOf(element: TerraformResource | TerraformDataSource): string {
  const address = `${element.terraformResourceType}.${element.friendlyUniqueId}`;
  return element instanceof TerraformDataSource ? `data.${address}` : address;
}

/** `type.name.attribute` (`data.type.name.attribute` for a data source), no `${}` around. */
export function referenceTo(element: TerraformResource | TerraformDataSource, attribute: string): string {
  return `${addressOf(element)}.${attribute}`;
}

/** `${type.name.attribute}`: the attribute as a whole string value. */
export function interpolated(element: TerraformResource | TerraformDataSource, attribute: string): string {
  return `\${${referenceTo(element, attribute)}}`;
}

/** `local.name`, no `${}` around. */
export function localReference(local: TerraformLocal): string {
  return `local.${local.friendlyUniqueId}`;
}
