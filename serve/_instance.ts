/**
 * One managed instance: its observed state (from events), its session, and
 * the power calls the engine makes on it. Power calls run one at a time, in
 * order, so that a wake queued behind a sleep runs after it and ends awake.
 *
 * @module
 */

import { type Event, isStartAction, isStopAction } from "../events/mod.ts";
import type { ContainerStatus, Provider } from "../provider.ts";
import type { ServeMetrics } from "./_metrics.ts";
import type { Health, InstanceInfo, Runtime, ServeLogger } from "./_model.ts";
import { probeOnce } from "./_probe.ts";

/** A timer can wait at most this long; longer sessions re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** The deadline of a start, an unpause, a pause (a stop adds its own timeout). */
const POWER_TIMEOUT_MS = 60_000;
/** Between two probe attempts or two Podman healthchecks. */
const RECHECK_MS = 250;
/** First and longest wait before a failed sleep is tried again. */
const SLEEP_RETRY_MS = { first: 1_000, max: 60_000 };

/** The status of an instance in Sablier's answers. */
export type InstanceApiStatus = "ready" | "starting" | "stopped" | "error";

/** What an instance needs from the engine. */
export interface InstanceHooks {
  /** Counters. */
  metrics: ServeMetrics;
  /** Where to report. */
  logger: ServeLogger;
  /** The clock, in ms since the epoch. */
  now(): number;
  /** Called when readiness or status may have changed. */
  changed(instance: Instance): void;
  /** Called when the session ended and the instance goes to sleep. */
  sessionEnded(instance: Instance): void;
  /** Called when the instance runs but has no session (someone else started it). */
  runningWithoutSession(instance: Instance): void;
  /** Called when the instance is gone or no longer opted in. */
  removed(instance: Instance): void;
  /** Wakes the instance's dependencies and waits until they are ready (bounded). */
  awaitDependencies(instance: Instance, signal: AbortSignal): Promise<void>;
}

/** One managed instance. */
export class Instance {
  /** `ENGINE/runtimeId`: unique across engines, the key of the saved session. */
  readonly key: string;
  /** Its runtime. */
  readonly runtime: Runtime;
  /** What the runtime says about it. */
  info: InstanceInfo;
  /** The last status seen. */
  status: ContainerStatus;
  /** The last health seen. */
  health: Health | undefined;
  /** When its session ends, in ms since the epoch (0: none). */
  sessionUntil = 0;
  /** Why the last wake failed, until the next wake. */
  error: string | undefined;
  #hooks: InstanceHooks;
  #probeOk = false;
  #healthFallback = false;
  #provider: Promise<Provider> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #waking = false;
  #sleeping = false;
  #wakeStartedAt: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #sleepFailures = 0;
  #checking = false;
  #life = new AbortController();

  /**
   * Creates an instance; nothing is sent before {@linkcode Instance.follow}.
   *
   * @param runtime Its runtime.
   * @param info What the runtime listed.
   * @param hooks The engine's side.
   */
  constructor(runtime: Runtime, info: InstanceInfo, hooks: InstanceHooks) {
    this.runtime = runtime;
    this.info = info;
    this.key = `${runtime.name}/${info.runtimeId}`;
    this.status = info.state.status;
    this.health = info.state.health;
    this.#hooks = hooks;
  }

  /** The name shown in answers. */
  get name(): string {
    return this.info.name;
  }

  /** Running, not going to sleep, healthy when it has a healthcheck, and its probe answered. */
  get ready(): boolean {
    return !this.#sleeping && this.status === "running" &&
      (!this.info.healthcheck || this.health === "healthy" || this.#healthFallback) &&
      (this.info.probe === undefined || this.#probeOk);
  }

  /** Whether its session has not ended. */
  get inSession(): boolean {
    return this.sessionUntil > this.#hooks.now();
  }

  /** Its status in Sablier's words, and a message when not ready. */
  apiStatus(): { status: InstanceApiStatus; message?: string } {
    if (this.ready) return { status: "ready" };
    if (this.error !== undefined && !this.#waking) return { status: "error", message: this.error };
    if (this.status === "error") {
      return { status: "error", message: "the runtime reports an error state" };
    }
    if (this.status === "running" || this.#waking) {
      if (this.status === "running" && this.info.healthcheck && this.health === "unhealthy") {
        return { status: "starting", message: "running but not healthy yet" };
      }
      return { status: "starting" };
    }
    return { status: "stopped" };
  }

  /**
   * Moves the session's end to `until` when that is later; never earlier.
   *
   * @param until The new end, in ms since the epoch.
   * @returns Whether the end moved.
   */
  extend(until: number): boolean {
    if (until <= this.sessionUntil) return false;
    this.sessionUntil = until;
    this.#arm();
    return true;
  }

  /** Wakes the instance unless it is ready or a wake is under way: one start for any number of callers. */
  wake(): void {
    if (this.ready || this.#waking || this.#life.signal.aborted) return;
    if (this.status === "running" && !this.#sleeping) {
      this.#checkReadiness();
      return;
    }
    this.#waking = true;
    this.error = undefined;
    this.#wakeStartedAt ??= this.#hooks.now();
    this.#hooks.changed(this);
    this.#enqueue(() => this.#doWake());
  }

  /** Starts following the instance's lifecycle events through its provider's `watch()`. */
  follow(): void {
    const signal = this.#life.signal;
    (async () => {
      const provider = await this.#getProvider();
      const { events, errors } = provider.watch({ signal });
      errors.pipeTo(
        new WritableStream({
          write: (error) =>
            this.#hooks.logger.debug(`watch of ${this.name}: ${error.message}`, {
              instance: this.key,
            }),
        }),
        { signal },
      ).catch(() => {});
      for await (const event of events) this.onEvent(event);
    })().catch((error) => {
      if (signal.aborted) return;
      this.#hooks.logger.error(`Cannot watch ${this.name}: ${messageOf(error)}`, {
        instance: this.key,
      });
    });
    if (this.status === "running") this.#checkReadiness();
  }

  /**
   * Applies one lifecycle event.
   *
   * @param event The provider's event.
   */
  onEvent(event: Event): void {
    const action = event.action;
    if (action === "destroyed") {
      this.#hooks.removed(this);
      return;
    }
    if (action === "force-reloaded") {
      this.refresh().catch(() => {});
      return;
    }
    if (action === "created" || action === "killed") return; // A kill is followed by its die.
    if (isStartAction(action)) {
      const wasRunning = this.status === "running";
      this.status = "running";
      if (action === "started" && !wasRunning) {
        this.health = this.info.healthcheck ? "starting" : undefined;
        this.#probeOk = false;
        this.#healthFallback = false;
      }
      this.#checkReadiness();
      if (!this.inSession && !this.#waking) this.#hooks.runningWithoutSession(this);
    } else if (isStopAction(action)) {
      this.#setDown("stopped");
    } else if (action === "paused") {
      this.#setDown("paused");
    }
    this.#hooks.changed(this);
  }

  /**
   * Records a health change reported by the runtime.
   *
   * @param health The new verdict.
   */
  setHealth(health: Health): void {
    if (this.health === health) return;
    this.health = health;
    this.#hooks.changed(this);
  }

  /**
   * Takes a fresh description (a rename, new labels, a state read after a reconnect).
   *
   * @param info The runtime's description.
   */
  update(info: InstanceInfo): void {
    this.info = info;
    const { status, health } = info.state;
    if (status !== "running") this.#setDown(status);
    else {
      this.status = "running";
      this.health = health;
      this.#checkReadiness();
    }
    this.#hooks.changed(this);
  }

  /** Reads the state again from the runtime; a vanished instance is removed. */
  async refresh(): Promise<void> {
    this.#hooks.metrics.runtimeRequest();
    try {
      const info = await this.runtime.inspect(this.info.runtimeId, { signal: this.#life.signal });
      if (info === undefined) this.#hooks.removed(this);
      else this.update(info);
    } catch (error) {
      if (this.#life.signal.aborted) return;
      this.#hooks.metrics.runtimeError(this.key);
      this.#hooks.logger.warn(`Cannot read the state of ${this.name}: ${messageOf(error)}`, {
        instance: this.key,
      });
    }
  }

  /** Puts the instance to sleep by its method, unless its session was extended meanwhile. */
  sleep(): void {
    this.#enqueue(() => this.#doSleep());
  }

  /** Ends the watch and the timers and releases the provider. Pending calls are aborted. */
  async close(): Promise<void> {
    this.#life.abort();
    clearTimeout(this.#timer);
    clearTimeout(this.#retryTimer);
    await this.#chain.catch(() => {});
    const provider = await this.#provider?.catch(() => undefined);
    provider?.close();
  }

  #setDown(status: ContainerStatus): void {
    this.status = status;
    if (status !== "paused") this.health = undefined;
    this.#probeOk = false;
  }

  #enqueue(operation: () => Promise<void>): void {
    this.#chain = this.#chain.then(operation).catch((error) => {
      this.#hooks.logger.error(`Unexpected failure on ${this.name}: ${messageOf(error)}`);
    });
  }

  #getProvider(): Promise<Provider> {
    this.#provider ??= this.runtime.provider(this.info);
    this.#provider.catch(() => (this.#provider = undefined));
    return this.#provider;
  }

  async #doWake(): Promise<void> {
    const signal = AbortSignal.any([this.#life.signal, AbortSignal.timeout(POWER_TIMEOUT_MS)]);
    try {
      await this.#hooks.awaitDependencies(this, signal);
      if (this.status === "running" || signal.aborted) return;
      const provider = await this.#getProvider();
      this.#hooks.metrics.runtimeRequest();
      const paused = this.status === "paused";
      if (paused) await provider.containerUnpause({ signal });
      else await provider.containerStart({ signal });
      this.#hooks.metrics.wake(this.key);
      this.#hooks.logger.info(`${paused ? "Unpaused" : "Started"} ${this.name}`, {
        instance: this.key,
      });
      if ((this.status as ContainerStatus) !== "running") {
        this.status = "running";
        if (!paused) {
          this.health = this.info.healthcheck ? "starting" : undefined;
          this.#probeOk = false;
        }
      }
    } catch (error) {
      if (this.#life.signal.aborted) return;
      this.error = `cannot wake: ${messageOf(error)}`;
      this.#hooks.metrics.runtimeError(this.key);
      this.#hooks.logger.error(`Cannot wake ${this.name}: ${messageOf(error)}`, {
        instance: this.key,
      });
    } finally {
      this.#waking = false;
      if (this.status === "running") this.#checkReadiness();
      this.#hooks.changed(this);
    }
  }

  async #doSleep(): Promise<void> {
    clearTimeout(this.#retryTimer);
    if (this.inSession || this.#life.signal.aborted) return;
    const { method, signal: stopSignal, timeoutSeconds } = this.info.sleep;
    if (this.status === "stopped" || (method === "pause" && this.status === "paused")) return;
    this.#sleeping = true;
    this.#hooks.changed(this);
    const deadline = POWER_TIMEOUT_MS + (method === "stop" ? timeoutSeconds * 1000 : 0);
    const signal = AbortSignal.any([this.#life.signal, AbortSignal.timeout(deadline)]);
    try {
      const provider = await this.#getProvider();
      this.#hooks.metrics.runtimeRequest();
      if (method === "pause" && this.status === "running") {
        await provider.containerPause({ signal });
        this.#setDown("paused");
      } else {
        await provider.containerStop(stopSignal, timeoutSeconds, { signal });
        this.#setDown("stopped");
      }
      this.#sleepFailures = 0;
      this.#hooks.metrics.sleep(this.key);
      this.#hooks.logger.info(`${method === "pause" ? "Paused" : "Stopped"} ${this.name}`, {
        instance: this.key,
      });
    } catch (error) {
      if (this.#life.signal.aborted) return;
      this.#sleepFailures++;
      const wait = Math.min(
        SLEEP_RETRY_MS.max,
        SLEEP_RETRY_MS.first * 2 ** (this.#sleepFailures - 1),
      );
      this.#hooks.metrics.runtimeError(this.key);
      this.#hooks.logger.error(
        `Cannot put ${this.name} to sleep (${method}), attempt ${this.#sleepFailures}; ` +
          `trying again in ${wait / 1000} s: ${messageOf(error)}`,
        { instance: this.key },
      );
      this.#retryTimer = setTimeout(() => this.sleep(), wait);
    } finally {
      this.#sleeping = false;
      this.#hooks.changed(this);
    }
  }

  /** Arms the session timer for the current end. */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#life.signal.aborted) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, this.sessionUntil - this.#hooks.now()));
    this.#timer = setTimeout(() => this.#expire(), wait);
  }

  #expire(): void {
    if (this.inSession) {
      this.#arm();
      return;
    }
    this.#hooks.sessionEnded(this);
    this.sleep();
  }

  /** Runs the probe and Podman's healthcheck while the instance runs and is not ready yet. */
  #checkReadiness(): void {
    this.#noteReady();
    const needsProbe = this.info.probe !== undefined && !this.#probeOk;
    const needsHealth = this.info.healthcheck && this.runtime.runHealthcheck !== undefined &&
      this.health !== "healthy" && !this.#healthFallback;
    if (this.#checking || (!needsProbe && !needsHealth)) return;
    this.#checking = true;
    this.#checkLoop().finally(() => {
      this.#checking = false;
      this.#noteReady();
    });
  }

  async #checkLoop(): Promise<void> {
    const signal = this.#life.signal;
    while (!signal.aborted && this.status === "running" && !this.ready) {
      if (
        this.info.healthcheck && this.runtime.runHealthcheck !== undefined &&
        this.health !== "healthy" && !this.#healthFallback
      ) {
        await this.#runHealthcheck(signal);
      }
      if (this.info.probe !== undefined && !this.#probeOk && this.status === "running") {
        this.#probeOk = await probeOnce(this.info.probe, signal);
      }
      this.#hooks.changed(this);
      if (this.ready) break;
      await sleepFor(RECHECK_MS, signal);
    }
  }

  async #runHealthcheck(signal: AbortSignal): Promise<void> {
    try {
      this.#hooks.metrics.runtimeRequest();
      this.health = await this.runtime.runHealthcheck!(this.info.runtimeId, { signal });
    } catch (error) {
      if (signal.aborted) return;
      this.#healthFallback = true;
      this.#hooks.logger.warn(
        `Cannot run the healthcheck of ${this.name}; ready as soon as it runs: ${messageOf(error)}`,
        { instance: this.key },
      );
    }
  }

  #noteReady(): void {
    if (this.ready && this.#wakeStartedAt !== undefined) {
      this.#hooks.metrics.wakeDuration(this.#hooks.now() - this.#wakeStartedAt);
      this.#wakeStartedAt = undefined;
    }
  }
}

/**
 * Gives the message of an error, without its stack.
 *
 * @param error Anything thrown.
 * @returns Its message.
 */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
