// warnings about the props, once: a fleet builds every host from the same props, and the same
// warning a thousand times would bury the one that matters.
import { Annotations } from 'cdktf';
import { IConstruct } from 'constructs';

/** adds `message` as a warning on `scope` unless `scope` already carries the same warning. */
export function warnOnce(scope: IConstruct, message: string): void {
  const already = scope.node.metadata.some((m) => m.type === '@cdktf/warn' && m.data === message);
  if (!already) Annotations.of(scope).addWarning(message);
}
