/**
 * What an instance learns from its runtime: its lifecycle events, read from
 * its provider's `watch()`, and its state read again when the watch asks for
 * a reload.
 *
 * @module
 */

import type { Event } from "../events/mod.ts";
import type { Provider } from "../provider.ts";
import type { ServeMetrics } from "./_metrics.ts";
import { messageOf } from "../_internal/message.ts";
import type { InstanceInfo, Runtime, ServeLogger } from "./_model.ts";

/** The instance as its runtime feeds it. */
export interface FedInstance {
  /** Its key, for metrics and log lines. */
  readonly key: string;
  /** Its name, for log lines. */
  readonly name: string;
  /** Its runtime. */
  readonly runtime: Runtime;
  /** Its description (its id on the runtime). */
  readonly info: InstanceInfo;
  /** Its provider. */
  provider(): Promise<Provider>;
  /** Applies one lifecycle event. */
  onEvent(event: Event): void;
  /** Takes a fresh description. */
  update(info: InstanceInfo): void;
}

/** What a read of the state needs from the engine. */
export interface RefreshContext {
  /** Counters. */
  metrics: ServeMetrics;
  /** Where to report. */
  logger: ServeLogger;
  /** Aborts the read when the instance is closed. */
  signal: AbortSignal;
  /** Called when the runtime no longer has the instance. */
  removed(): void;
}

/** Feeds the provider's `watch()` into the instance until its life ends. */
export function followEvents(
  instance: FedInstance,
  options: { logger: ServeLogger; signal: AbortSignal },
): void {
  const { logger, signal } = options;
  const context = { instance: instance.key };
  (async () => {
    const provider = await instance.provider();
    const { events, errors } = provider.watch({ signal });
    const report = (error: Error) =>
      logger.debug(`watch of ${instance.name}: ${error.message}`, context);
    errors.pipeTo(new WritableStream({ write: report }), { signal }).catch(() => {});
    for await (const event of events) instance.onEvent(event);
  })().catch((error) => {
    if (!signal.aborted) {
      logger.error(`Cannot watch ${instance.name}: ${messageOf(error)}`, context);
    }
  });
}

/**
 * Reads the instance's state again from its runtime; a vanished instance is
 * removed, a failed read reported.
 *
 * @param instance The instance.
 * @param context Counters, logger, the instance's life signal and its removal.
 */
export async function refreshState(instance: FedInstance, context: RefreshContext): Promise<void> {
  const { metrics, logger, signal } = context;
  metrics.runtimeRequest();
  try {
    const info = await instance.runtime.inspect(instance.info.runtimeId, { signal });
    if (info === undefined) context.removed();
    else instance.update(info);
  } catch (error) {
    if (signal.aborted) return;
    metrics.runtimeError(instance.key);
    logger.warn(`Cannot read the state of ${instance.name}: ${messageOf(error)}`, {
      instance: instance.key,
    });
  }
}
