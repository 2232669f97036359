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

import { AmbiguousInstanceError, UnknownGroupError, UnknownInstanceError } from "./_errors.ts";
import { Instance, type InstanceHooks, messageOf } from "./_instance.ts";
import { ServeMetrics } from "./_metrics.ts";
import type { InstanceInfo, Runtime, RuntimeChange, ServeLogger } from "./_model.ts";
import { type SavedSession, SessionStore } from "./_session_store.ts";
import { isSessionReady, type Target } from "./_session_state.ts";
import { InstanceIndex } from "./_instance_index.ts";
import { dependenciesOf } from "./_dependencies.ts";

/** How long a wake waits for its dependencies before it starts anyway. */
const DEPENDENCY_TIMEOUT_MS = 120_000;
/** How long {@linkcode IdleEngine.start} waits for each runtime's first listing. */
const DISCOVERY_TIMEOUT_MS = 30_000;
const OPTIONAL_PREFIX = "optional:";

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
  #store: SessionStore;
  #saved = new Map<string, SavedSession>();
  #logger: ServeLogger;
  #now: () => number;
  #defaultSessionMs: number;
  #waiters = new Set<() => void>();
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
    this.#defaultSessionMs = options.defaultSessionMs;
    this.metrics = options.metrics ?? new ServeMetrics();
    this.metrics.activeSessions = () => this.#index.all().filter((i) => i.inSession).length;
    this.#store = new SessionStore(
      options.stateDir,
      (error) => this.#logger.error(`Cannot save sessions: ${messageOf(error)}`),
    );
    this.#hooks = {
      metrics: this.metrics,
      logger: this.#logger,
      now: this.#now,
      changed: () => this.#notify(),
      sessionEnded: (instance) => this.#store.remove(instance.key),
      runningWithoutSession: (instance) => {
        this.#extend(instance, this.#now() + this.#defaultSessionMs);
      },
      removed: (instance) => this.#remove(instance),
      awaitDependencies: (instance, signal) => this.#awaitDependencies(instance, signal),
    };
  }

  /**
   * Loads the saved sessions, lists every runtime's instances (each listing
   * bounded), and follows them from then on.
   */
  async start(): Promise<void> {
    this.#saved = await this.#store.load();
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
    const targets = new Map<Instance, Target>();
    for (const raw of names) {
      const optional = raw.startsWith(OPTIONAL_PREFIX);
      const name = optional ? raw.slice(OPTIONAL_PREFIX.length) : raw;
      const instance = this.#resolveName(name);
      const known = targets.get(instance);
      if (known === undefined) targets.set(instance, { instance, optional });
      else known.optional &&= optional;
    }
    return [...targets.values()];
  }

  /**
   * Resolves a group.
   *
   * @param group The group's name.
   * @returns Its members, none optional.
   * @throws {UnknownGroupError} When no instance is in the group.
   */
  resolveGroup(group: string): Target[] {
    const members = this.#index.group(group);
    if (members.length === 0) throw new UnknownGroupError(group, this.#index.groups());
    return members.map((instance) => ({ instance, optional: false }));
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
      const write = this.#extend(instance, until);
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
    const { signal } = options;
    while (!isSessionReady(targets)) {
      signal.throwIfAborted();
      await this.#nextChange(signal);
    }
  }

  /** Stops following, saves the sessions, releases the runtimes. Sessions are not ended. */
  async close(): Promise<void> {
    this.#life.abort();
    await Promise.all(this.#index.all().map((instance) => instance.close()));
    await Promise.all(this.#following);
    await this.#store.flush();
    for (const runtime of this.#runtimes) runtime.close();
  }

  #resolveName(name: string): Instance {
    const found = this.#index.byName(name);
    if (found.length === 1) return found[0];
    if (found.length > 1) {
      throw new AmbiguousInstanceError(name, found.map((i) => `${i.runtime.name}/${name}`).sort());
    }
    const slash = name.indexOf("/");
    if (slash > 0) {
      const engine = name.slice(0, slash);
      const rest = name.slice(slash + 1);
      const onEngine = this.#index.byName(rest).filter((i) => i.runtime.name === engine);
      if (onEngine.length === 1) return onEngine[0];
    }
    throw new UnknownInstanceError(name);
  }

  #extend(instance: Instance, until: number): Promise<void> | undefined {
    if (!instance.extend(until)) return undefined;
    return this.#store.extend(instance.key, { name: instance.name, until }, this.#now());
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
    this.#notify();
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
    this.#restoreSession(instance);
    instance.follow();
    return instance;
  }

  /** Applies the saved session, or gives a running instance without one the default. */
  #restoreSession(instance: Instance): void {
    const saved = this.#saved.get(instance.key);
    this.#saved.delete(instance.key);
    const now = this.#now();
    if (saved !== undefined && saved.until > now) {
      instance.extend(saved.until);
    } else if (saved !== undefined) {
      this.#store.remove(instance.key);
      instance.sleep();
    } else if (instance.status === "running") {
      this.#extend(instance, now + this.#defaultSessionMs);
    }
  }

  #remove(instance: Instance): void {
    if (this.#index.get(instance.key) !== instance) return;
    this.#index.delete(instance);
    this.#store.remove(instance.key);
    this.#logger.info(`No longer managing ${instance.key}`, { instance: instance.key });
    instance.close().catch(() => {});
    this.#notify();
  }

  async #awaitDependencies(instance: Instance, signal: AbortSignal): Promise<void> {
    const dependencies = dependenciesOf(instance, this.#index.all());
    if (dependencies.length === 0) return;
    const targets = dependencies.map((dependency) => ({ instance: dependency, optional: false }));
    for (const dependency of dependencies) {
      this.#extend(dependency, instance.sessionUntil);
      dependency.wake();
    }
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(DEPENDENCY_TIMEOUT_MS)]);
    try {
      await this.waitReady(targets, { signal: bounded });
    } catch (error) {
      if (signal.aborted) throw error;
      this.#logger.warn(
        `${instance.name}: its dependencies are not ready after ${
          DEPENDENCY_TIMEOUT_MS / 1000
        } s; starting it anyway`,
        { instance: instance.key },
      );
    }
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #nextChange(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        signal.removeEventListener("abort", aborted);
        resolve();
      };
      const aborted = () => {
        this.#waiters.delete(done);
        reject(signal.reason);
      };
      this.#waiters.add(done);
      signal.addEventListener("abort", aborted, { once: true });
    });
  }
}
