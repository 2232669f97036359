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
import { apiStatusOf, type InstanceApiStatus } from "./_api_status.ts";
import type { Health, InstanceInfo, Runtime, ServeLogger } from "./_model.ts";
import { PowerCalls } from "./_power.ts";
import { ReadinessChecks } from "./_readiness.ts";
import { followEvents, refreshState } from "./_runtime_feed.ts";
import { SessionTimer } from "./_session_timer.ts";

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
  /** Why the last wake failed, until the next wake. */
  error: string | undefined;
  #hooks: InstanceHooks;
  #readiness: ReadinessChecks;
  #power: PowerCalls;
  #provider: Promise<Provider> | undefined;
  #session: SessionTimer;
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
    this.#readiness = new ReadinessChecks(this, {
      metrics: hooks.metrics,
      logger: hooks.logger,
      changed: () => {
        this.#power.noteReady();
        hooks.changed(this);
      },
      signal: this.#life.signal,
    });
    this.#session = new SessionTimer({
      now: hooks.now,
      ended: () => {
        hooks.sessionEnded(this);
        this.sleep();
      },
      signal: this.#life.signal,
    });
    this.#power = new PowerCalls(this, {
      metrics: hooks.metrics,
      logger: hooks.logger,
      now: hooks.now,
      awaitDependencies: (signal) => hooks.awaitDependencies(this, signal),
      signal: this.#life.signal,
    });
  }

  /** The name shown in answers. */
  get name(): string {
    return this.info.name;
  }

  /** Running, not going to sleep, healthy when it has a healthcheck, and its probe answered. */
  get ready(): boolean {
    return !this.#power.sleeping && this.status === "running" &&
      this.#readiness.passed;
  }

  /** When its session ends, in ms since the epoch (0: none). */
  get sessionUntil(): number {
    return this.#session.until;
  }

  /** Whether its session has not ended. */
  get inSession(): boolean {
    return this.#session.active;
  }

  /** Its status in Sablier's words, and a message when not ready. */
  apiStatus(): { status: InstanceApiStatus; message?: string } {
    return apiStatusOf(this, this.#power.waking);
  }

  /**
   * Moves the session's end to `until` when that is later; never earlier.
   *
   * @param until The new end, in ms since the epoch.
   * @returns Whether the end moved.
   */
  extend(until: number): boolean {
    return this.#session.extend(until);
  }

  /** Wakes the instance unless it is ready or a wake is under way: one start for any number of callers. */
  wake(): void {
    if (this.ready || this.#power.waking || this.#life.signal.aborted) return;
    if (this.status === "running" && !this.#power.sleeping) {
      this.#checkReadiness();
      return;
    }
    this.#power.wake();
    this.#hooks.changed(this);
  }

  /** Starts following the instance's lifecycle events through its provider's `watch()`. */
  follow(): void {
    followEvents(this, { logger: this.#hooks.logger, signal: this.#life.signal });
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
        this.#readiness.reset();
      }
      this.#checkReadiness();
      if (!this.inSession && !this.#power.waking) this.#hooks.runningWithoutSession(this);
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
  refresh(): Promise<void> {
    const { metrics, logger } = this.#hooks;
    const removed = () => this.#hooks.removed(this);
    return refreshState(this, { metrics, logger, signal: this.#life.signal, removed });
  }

  /** Puts the instance to sleep by its method, unless its session was extended meanwhile. */
  sleep(): void {
    this.#power.sleep();
  }

  /** Ends the watch and the timers and releases the provider. Pending calls are aborted. */
  async close(): Promise<void> {
    this.#life.abort();
    this.#session.close();
    await this.#power.close();
    const provider = await this.#provider?.catch(() => undefined);
    provider?.close();
  }

  #setDown(status: ContainerStatus): void {
    this.status = status;
    if (status !== "paused") this.health = undefined;
    this.#readiness.resetProbe();
  }

  /** Its provider, made on first use. */
  provider(): Promise<Provider> {
    this.#provider ??= this.runtime.provider(this.info);
    this.#provider.catch(() => (this.#provider = undefined));
    return this.#provider;
  }

  /**
   * Records that a power call took it down.
   *
   * @param status `stopped` or `paused`.
   */
  wentDown(status: ContainerStatus): void {
    this.#setDown(status);
  }

  /**
   * Records that a power call brought it up, unless its event did already.
   *
   * @param unpaused Whether it was an unpause (its health then stands).
   */
  cameUp(unpaused: boolean): void {
    if (this.status === "running") return;
    this.status = "running";
    if (!unpaused) {
      this.health = this.info.healthcheck ? "starting" : undefined;
      this.#readiness.resetProbe();
    }
  }

  /** Reports that its state may have changed; checks readiness while it runs. */
  changed(): void {
    if (this.status === "running") this.#checkReadiness();
    this.#hooks.changed(this);
  }

  /** Runs the probe and the healthcheck while needed; records the wake's duration once ready. */
  #checkReadiness(): void {
    this.#power.noteReady();
    this.#readiness.run();
  }
}
