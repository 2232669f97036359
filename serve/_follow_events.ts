/**
 * An instance's lifecycle events, read from its provider's `watch()`.
 *
 * @module
 */

import type { Event } from "../events/mod.ts";
import type { Provider } from "../provider.ts";
import { messageOf } from "./_message.ts";
import type { ServeLogger } from "./_model.ts";

/** The instance as its event feed sees it. */
export interface FollowedInstance {
  /** Its key, for log lines. */
  readonly key: string;
  /** Its name, for log lines. */
  readonly name: string;
  /** Its provider. */
  provider(): Promise<Provider>;
  /** Applies one lifecycle event. */
  onEvent(event: Event): void;
}

/** Feeds the provider's `watch()` into the instance until its life ends. */
export function followEvents(
  instance: FollowedInstance,
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
