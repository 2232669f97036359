/**
 * The idle-watching engine: the managed instances of every runtime, found by
 * their labels or tags and followed through events; sessions that only
 * extend, saved to disk; one wake per instance; sleep when a session ends.
 * No HTTP here: the routes call {@linkcode IdleEngine.resolveNames},
 * {@linkcode IdleEngine.resolveGroup}, {@linkcode IdleEngine.request} and
 * {@linkcode IdleEngine.waitReady}.
 *
 * @module
 */

import { ChangeWaiters } from "./_change_waiters.ts";
import { awaitDependencies } from "./_dependencies.ts";
import { Instance, type InstanceHooks } from "./_instance.ts";
import { InstanceIndex } from "./_instance_index.ts";
import { messageOf } from "../_internal/message.ts";
import { ServeMetrics } from "./_metrics.ts";
import type { InstanceInfo, Runtime, RuntimeChange, ServeLogger } from "./_model.ts";
import { resolveGroup, resolveNames } from "./_name_resolution.ts";
import { isSessionReady, type Target } from "./_session_state.ts";
import { Sessions } from "./_sessions.ts";

/** How long {@linkcode IdleEngine.start} waits for each runtime's first listing. */
const DISCOVERY_TIMEOUT_MS = 30_000;

/** Options of {@linkcode IdleEngine}. */
export interface IdleEngineOptions {
  /** The runtimes to manage. */
  runtimes: Runtime[];
  /** Where sessions are saved; without it, they live in memory only. */
  stateDir?: string;
  /** The session given to a managed instance found running without one, in ms. */
  defaultSessionMs: number;
  /** Where to report. */
  logger: ServeLogger;
  /** Counters; a new set when absent. */
  metrics?: ServeMetrics;
  /** The clock, in ms since the epoch. @default {Date.now} */
  now?: () => number;
}

/** The engine. */
export class IdleEngine {
  /** The counters it updates. */
  readonly metrics: ServeMetrics;
  #runtimes: Runtime[];
  #index = new InstanceIndex();
  #sessions: Sessions;
  #changes = new ChangeWaiters();
  #logger: ServeLogger;
  #now: () => number;
  #life = new AbortController();
  #following: Promise<void>[] = [];
  #hooks: InstanceHooks;

  /**
   * Creates the engine; nothing is sent before {@linkcode IdleEngine.start}.
   *
   * @param options The runtimes, the state directory, the default session and the logger.
   */
  constructor(options: IdleEngineOptions) {
    this.#runtimes = options.runtimes;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.metrics = options.metrics ?? new ServeMetrics();
    this.metrics.activeSessions = () => this.#index.all().filter((i) => i.inSession).length;
    this.#sessions = new Sessions({
      stateDir: options.stateDir,
      defaultSessionMs: options.defaultSessionMs,
      logger: this.#logger,
      now: this.#now,
    });
    this.#hooks = {
      metrics: this.metrics,
      logger: this.#logger,
      now: this.#now,
      changed: () => this.#changes.notify(),
      sessionEnded: (instance) => this.#sessions.forget(instance),
      runningWithoutSession: (instance) => this.#sessions.giveDefault(instance),
      removed: (instance) => this.#remove(instance),
      awaitDependencies: (instance, signal) =>
        awaitDependencies(instance, {
          all: this.#index.all(),
          sessions: this.#sessions,
          changes: this.#changes,
          logger: this.#logger,
          signal,
        }),
    };
  }

  /**
   * Loads the saved sessions, lists every runtime's instances (each listing
   * bounded), and follows them from then on.
   */
  async start(): Promise<void> {
    await this.#sessions.load();
    const signal = this.#life.signal;
    await Promise.all(this.#runtimes.map((runtime) => {
      const { promise, resolve } = Promise.withResolvers<void>();
      const timer = setTimeout(() => {
        this.#logger.warn(`${runtime.name}: no listing yet; serving without it for now`);
        resolve();
      }, DISCOVERY_TIMEOUT_MS);
      const following = runtime.follow((change) => {
        this.#apply(runtime, change);
        if (change.kind === "resync") {
          clearTimeout(timer);
          resolve();
        }
      }, { signal }).catch((error) =>
        this.#logger.error(`${runtime.name}: discovery ended: ${messageOf(error)}`)
      ).finally(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#following.push(following);
      return promise;
    }));
  }

  /** All managed instances. */
  instances(): Instance[] {
    return this.#index.all();
  }

  /**
   * Resolves `names` entries (`name`, `ENGINE/name`, `optional:name`).
   *
   * @param names The request's names.
   * @returns The targets, in the order given, without duplicates.
   * @throws {UnknownInstanceError} For a name no engine manages.
   * @throws {AmbiguousInstanceError} For a name on several engines.
   */
  resolveNames(names: readonly string[]): Target[] {
    return resolveNames(this.#index, names);
  }

  /**
   * Resolves a group.
   *
   * @param group The group's name.
   * @returns Its members, none optional.
   * @throws {UnknownGroupError} When no instance is in the group.
   */
  resolveGroup(group: string): Target[] {
    return resolveGroup(this.#index, group);
  }

  /**
   * Extends each target's session to now plus `durationMs` (never shortens
   * it) and wakes what is not ready. When an extended session must reach the
   * disk first, returns the write to wait for; on the ready path nothing is
   * written or sent, and nothing is returned.
   *
   * @param targets The request's instances.
   * @param durationMs The session's duration.
   * @returns The pending write, if any (it never rejects: a failed write is logged).
   */
  request(targets: readonly Target[], durationMs: number): Promise<void> | undefined {
    const until = this.#now() + durationMs;
    let writes: Promise<void>[] | undefined;
    for (const { instance } of targets) {
      const write = this.#sessions.extend(instance, until);
      if (write !== undefined) (writes ??= []).push(write);
      instance.wake();
    }
    return writes && Promise.all(writes).then(() => {}, () => {});
  }

  /**
   * Waits until every target that is not optional is ready.
   *
   * @param targets The request's instances.
   * @param options Ends the wait: it rejects with the signal's reason.
   */
  async waitReady(targets: readonly Target[], options: { signal: AbortSignal }): Promise<void> {
    await this.#changes.until(() => isSessionReady(targets), options.signal);
  }

  /** Stops following, saves the sessions, releases the runtimes. Sessions are not ended. */
  async close(): Promise<void> {
    this.#life.abort();
    await Promise.all(this.#index.all().map((instance) => instance.close()));
    await Promise.all(this.#following);
    await this.#sessions.flush();
    for (const runtime of this.#runtimes) runtime.close();
  }

  #apply(runtime: Runtime, change: RuntimeChange): void {
    switch (change.kind) {
      case "upsert":
        this.#upsert(runtime, change.info);
        break;
      case "remove": {
        const instance = this.#index.get(`${runtime.name}/${change.runtimeId}`);
        if (instance !== undefined) this.#remove(instance);
        break;
      }
      case "health":
        this.#index.get(`${runtime.name}/${change.runtimeId}`)?.setHealth(change.health);
        break;
      case "state": {
        // The discovery stream's view of a lifecycle change: it covers the
        // moments before a provider's watch() is called (between the
        // listing's inspection and the call), which the watch cannot see.
        // Applying it twice changes nothing.
        const instance = this.#index.get(`${runtime.name}/${change.runtimeId}`);
        instance?.onEvent({
          type: "docker",
          actorId: change.runtimeId,
          actorName: instance.name,
          actorAttributes: {},
          action: change.action,
          time: new Date(),
        });
        break;
      }
      case "resync": {
        const keep = new Set<string>();
        for (const info of change.infos) keep.add(this.#upsert(runtime, info).key);
        for (const instance of this.#index.all()) {
          if (instance.runtime === runtime && !keep.has(instance.key)) this.#remove(instance);
        }
        break;
      }
    }
    this.#changes.notify();
  }

  #upsert(runtime: Runtime, info: InstanceInfo): Instance {
    const known = this.#index.get(`${runtime.name}/${info.runtimeId}`);
    if (known !== undefined) {
      this.#index.delete(known);
      known.update(info);
      this.#index.add(known);
      return known;
    }
    const instance = new Instance(runtime, info, this.#hooks);
    this.#index.add(instance);
    this.#logger.info(`Managing ${instance.key} (${info.name})`, { instance: instance.key });
    this.#sessions.restore(instance);
    instance.follow();
    return instance;
  }

  #remove(instance: Instance): void {
    if (this.#index.get(instance.key) !== instance) return;
    this.#index.delete(instance);
    this.#sessions.forget(instance);
    this.#logger.info(`No longer managing ${instance.key}`, { instance: instance.key });
    instance.close().catch(() => {});
    this.#changes.notify();
  }
}
