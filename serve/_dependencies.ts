/**
 * Docker Compose's `depends_on`, as recorded in the label
 * `com.docker.compose.depends_on`: which managed instances must be ready
 * before an instance starts. A cycle is broken where it closes, so that no
 * wake waits for itself. A wake waits for its dependencies at most
 * {@linkcode DEPENDENCY_TIMEOUT_MS}, then starts anyway.
 *
 * @module
 */

import type { ChangeWaiters } from "./_change_waiters.ts";
import type { Instance } from "./_instance.ts";
import type { ServeLogger } from "./_model.ts";
import { isSessionReady } from "./_session_state.ts";
import type { Sessions } from "./_sessions.ts";

/** How long a wake waits for its dependencies before it starts anyway. */
export const DEPENDENCY_TIMEOUT_MS = 120_000;

/** What waiting for the dependencies needs from the engine. */
export interface DependencyWaitContext {
  /** Every managed instance. */
  all: readonly Instance[];
  /** The sessions: each dependency's is extended to the instance's. */
  sessions: Sessions;
  /** The readiness gate. */
  changes: ChangeWaiters;
  /** Where to report a wait that timed out. */
  logger: ServeLogger;
  /** Ends the wait: it rejects with the signal's reason. */
  signal: AbortSignal;
}

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

/**
 * Wakes the dependencies of `instance` for as long as its session, and waits
 * until they are ready; after {@linkcode DEPENDENCY_TIMEOUT_MS}, it warns and
 * returns, so that the instance starts anyway.
 *
 * @param instance The instance about to start.
 * @param context The instances, the sessions, the readiness gate, the logger and the signal.
 */
export async function awaitDependencies(
  instance: Instance,
  context: DependencyWaitContext,
): Promise<void> {
  const { signal, logger } = context;
  const dependencies = dependenciesOf(instance, context.all);
  if (dependencies.length === 0) return;
  const targets = dependencies.map((dependency) => ({ instance: dependency, optional: false }));
  for (const dependency of dependencies) {
    context.sessions.extend(dependency, instance.sessionUntil);
    dependency.wake();
  }
  const bounded = AbortSignal.any([signal, AbortSignal.timeout(DEPENDENCY_TIMEOUT_MS)]);
  try {
    await context.changes.until(() => isSessionReady(targets), bounded);
  } catch (error) {
    if (signal.aborted) throw error;
    logger.warn(
      `${instance.name}: its dependencies are not ready after ${
        DEPENDENCY_TIMEOUT_MS / 1000
      } s; starting it anyway`,
      { instance: instance.key },
    );
  }
}
