/**
 * Docker Compose's `depends_on`, as recorded in the label
 * `com.docker.compose.depends_on`: which managed instances must be ready
 * before an instance starts. A cycle is broken where it closes, so that no
 * wake waits for itself.
 *
 * @module
 */

import type { Instance } from "./_instance.ts";

/**
 * Lists the managed instances `instance` depends on: same runtime, same
 * Compose project, a service named in its `depends_on`, and not depending
 * on `instance` back (directly or through others).
 *
 * @param instance The instance about to start.
 * @param all Every managed instance.
 * @returns Its dependencies.
 */
export function dependenciesOf(instance: Instance, all: readonly Instance[]): Instance[] {
  const direct = (of: Instance): Instance[] => {
    const { composeProject, dependsOn } = of.info;
    if (composeProject === undefined || dependsOn.length === 0) return [];
    return all.filter((other) =>
      other !== of && other.runtime === of.runtime &&
      other.info.composeProject === composeProject &&
      other.info.composeService !== undefined &&
      dependsOn.includes(other.info.composeService)
    );
  };
  const reaches = (from: Instance, target: Instance, seen: Set<Instance>): boolean => {
    if (from === target) return true;
    if (seen.has(from)) return false;
    seen.add(from);
    return direct(from).some((next) => reaches(next, target, seen));
  };
  return direct(instance).filter((dependency) => !reaches(dependency, instance, new Set()));
}
