/**
 * The instances a request names: `name`, `ENGINE/name` or `optional:name`,
 * or a group.
 *
 * @module
 */

import { AmbiguousInstanceError, UnknownGroupError, UnknownInstanceError } from "./_errors.ts";
import type { Instance } from "./_instance.ts";
import type { InstanceIndex } from "./_instance_index.ts";
import type { Target } from "./_session_state.ts";

const OPTIONAL_PREFIX = "optional:";

/**
 * Resolves `names` entries (`name`, `ENGINE/name`, `optional:name`).
 *
 * @param index The managed instances.
 * @param names The request's names.
 * @returns The targets, in the order given, without duplicates.
 * @throws {UnknownInstanceError} For a name no engine manages.
 * @throws {AmbiguousInstanceError} For a name on several engines.
 */
export function resolveNames(index: InstanceIndex, names: readonly string[]): Target[] {
  const targets = new Map<Instance, Target>();
  for (const raw of names) {
    const optional = raw.startsWith(OPTIONAL_PREFIX);
    const name = optional ? raw.slice(OPTIONAL_PREFIX.length) : raw;
    const instance = resolveName(index, name);
    const known = targets.get(instance);
    if (known === undefined) targets.set(instance, { instance, optional });
    else known.optional &&= optional;
  }
  return [...targets.values()];
}

/**
 * Resolves a group.
 *
 * @param index The managed instances.
 * @param group The group's name.
 * @returns Its members, none optional.
 * @throws {UnknownGroupError} When no instance is in the group.
 */
export function resolveGroup(index: InstanceIndex, group: string): Target[] {
  const members = index.group(group);
  if (members.length === 0) throw new UnknownGroupError(group, index.groups());
  return members.map((instance) => ({ instance, optional: false }));
}

/** The one instance `name` (or `ENGINE/name`) reaches. */
function resolveName(index: InstanceIndex, name: string): Instance {
  const found = index.byName(name);
  if (found.length === 1) return found[0];
  if (found.length > 1) {
    throw new AmbiguousInstanceError(name, found.map((i) => `${i.runtime.name}/${name}`).sort());
  }
  const slash = name.indexOf("/");
  if (slash > 0) {
    const engine = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    const onEngine = index.byName(rest).filter((i) => i.runtime.name === engine);
    if (onEngine.length === 1) return onEngine[0];
  }
  throw new UnknownInstanceError(name);
}
