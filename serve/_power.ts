/**
 * The power calls the engine makes on one instance, one at a time and in
 * order: a wake queued behind a sleep runs after it, so a wake that races a
 * sleep ends awake. A failed sleep is retried with backoff (1 s, doubling,
 * at most 60 s) and reported each time; a failed wake is reported on the
 * instance until the next wake. A wake's duration is measured from its
 * first call to the moment the instance is ready.
 *
 * @module
 */

import type { ContainerStatus, Provider } from "../provider.ts";
import type { ServeMetrics } from "./_metrics.ts";
import { messageOf } from "../_internal/message.ts";
import type { InstanceInfo, ServeLogger } from "./_model.ts";

/** The deadline of a start, an unpause or a pause (a stop adds its own timeout). */
const POWER_TIMEOUT_MS = 60_000;
/** First and longest wait before a failed sleep is tried again. */
const SLEEP_RETRY_MS = { first: 1_000, max: 60_000 };

/** The instance as its power calls see it. */
export interface PowerTarget {
  /** Its key, for metrics and log lines. */
  readonly key: string;
  /** Its name, for log lines. */
  readonly name: string;
  /** Its description (the sleep policy). */
  readonly info: InstanceInfo;
  /** Whether its session goes on. */
  readonly inSession: boolean;
  /** Its last status. */
  readonly status: ContainerStatus;
  /** Whether it is ready. */
  readonly ready: boolean;
  /** Why the last wake failed. */
  error: string | undefined;
  /** Its provider. */
  provider(): Promise<Provider>;
  /** Records that it went down (stopped or paused) by our call. */
  wentDown(status: ContainerStatus): void;
  /** Records that it came up by our call, before its event arrives. */
  cameUp(unpaused: boolean): void;
  /** Reports a change of state (readiness may have changed). */
  changed(): void;
}

/** What the power calls need from the engine. */
export interface PowerContext {
  /** Counters. */
  metrics: ServeMetrics;
  /** Where to report. */
  logger: ServeLogger;
  /** The clock, in ms since the epoch. */
  now(): number;
  /** Wakes the dependencies and waits for them, bounded. */
  awaitDependencies(signal: AbortSignal): Promise<void>;
  /** Aborts every call when the instance is closed. */
  signal: AbortSignal;
}

/** The queue of one instance's power calls. */
export class PowerCalls {
  #target: PowerTarget;
  #context: PowerContext;
  #chain: Promise<void> = Promise.resolve();
  #waking = false;
  #sleeping = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #sleepFailures = 0;
  #wakeStartedAt: number | undefined;

  /**
   * @param target The instance.
   * @param context Counters, logger, dependencies and the life signal.
   */
  constructor(target: PowerTarget, context: PowerContext) {
    this.#target = target;
    this.#context = context;
  }

  /** A wake is queued or under way. */
  get waking(): boolean {
    return this.#waking;
  }

  /** A sleep is under way: the instance is not to be used. */
  get sleeping(): boolean {
    return this.#sleeping;
  }

  /** Queues a wake, unless one is queued already. */
  wake(): void {
    if (this.#waking || this.#context.signal.aborted) return;
    this.#waking = true;
    this.#wakeStartedAt ??= this.#context.now();
    this.#target.error = undefined;
    this.#enqueue(() => this.#wake());
  }

  /** Records the wake's duration once the instance is ready: once per wake. */
  noteReady(): void {
    if (this.#target.ready && this.#wakeStartedAt !== undefined) {
      this.#context.metrics.wakeDuration(this.#context.now() - this.#wakeStartedAt);
      this.#wakeStartedAt = undefined;
    }
  }

  /** Queues a sleep; it does nothing if the session was extended meanwhile. */
  sleep(): void {
    this.#enqueue(() => this.#sleep());
  }

  /** Waits for the queued calls (aborted by the life signal) and drops the retry. */
  async close(): Promise<void> {
    clearTimeout(this.#retryTimer);
    await this.#chain;
  }

  #enqueue(operation: () => Promise<void>): void {
    this.#chain = this.#chain.then(operation).catch((error) => {
      this.#context.logger.error(`Unexpected failure on ${this.#target.name}: ${messageOf(error)}`);
    });
  }

  async #wake(): Promise<void> {
    const target = this.#target;
    const { metrics, logger } = this.#context;
    const signal = AbortSignal.any([this.#context.signal, AbortSignal.timeout(POWER_TIMEOUT_MS)]);
    try {
      await this.#context.awaitDependencies(signal);
      if (target.status === "running" || signal.aborted) return;
      const provider = await target.provider();
      metrics.runtimeRequest();
      const paused = target.status === "paused";
      if (paused) await provider.containerUnpause({ signal });
      else await provider.containerStart({ signal });
      metrics.wake(target.key);
      logger.info(`${paused ? "Unpaused" : "Started"} ${target.name}`, { instance: target.key });
      target.cameUp(paused);
    } catch (error) {
      if (this.#context.signal.aborted) return;
      target.error = `cannot wake: ${messageOf(error)}`;
      metrics.runtimeError(target.key);
      logger.error(`Cannot wake ${target.name}: ${messageOf(error)}`, { instance: target.key });
    } finally {
      this.#waking = false;
      target.changed();
    }
  }

  async #sleep(): Promise<void> {
    clearTimeout(this.#retryTimer);
    const target = this.#target;
    if (target.inSession || this.#context.signal.aborted) return;
    const { method, signal: stopSignal, timeoutSeconds } = target.info.sleep;
    if (target.status === "stopped" || (method === "pause" && target.status === "paused")) return;
    const { metrics, logger } = this.#context;
    this.#sleeping = true;
    target.changed();
    const deadline = POWER_TIMEOUT_MS + (method === "stop" ? timeoutSeconds * 1000 : 0);
    const signal = AbortSignal.any([this.#context.signal, AbortSignal.timeout(deadline)]);
    try {
      const provider = await target.provider();
      metrics.runtimeRequest();
      if (method === "pause" && target.status === "running") {
        await provider.containerPause({ signal });
        target.wentDown("paused");
      } else {
        await provider.containerStop(stopSignal, timeoutSeconds, { signal });
        target.wentDown("stopped");
      }
      this.#sleepFailures = 0;
      metrics.sleep(target.key);
      logger.info(`${method === "pause" ? "Paused" : "Stopped"} ${target.name}`, {
        instance: target.key,
      });
    } catch (error) {
      if (this.#context.signal.aborted) return;
      this.#sleepFailures++;
      const wait = Math.min(
        SLEEP_RETRY_MS.max,
        SLEEP_RETRY_MS.first * 2 ** (this.#sleepFailures - 1),
      );
      metrics.runtimeError(target.key);
      logger.error(
        `Cannot put ${target.name} to sleep (${method}), attempt ${this.#sleepFailures}; ` +
          `trying again in ${wait / 1000} s: ${messageOf(error)}`,
        { instance: target.key },
      );
      this.#retryTimer = setTimeout(() => this.sleep(), wait);
    } finally {
      this.#sleeping = false;
      target.changed();
    }
  }
}
