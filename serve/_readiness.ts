/**
 * What stands between "running" and "ready" for one instance: its
 * healthcheck (run through the runtime's API when the runtime never runs it,
 * as Podman without systemd), and its opt-in readiness probe. The checks
 * run while the instance runs and is not ready, every 250 ms, each attempt
 * with a deadline; they stop when it stops or is ready.
 *
 * @module
 */

import type { Health, InstanceInfo, Runtime, ServeLogger } from "./_model.ts";
import { messageOf } from "../_internal/message.ts";
import type { ServeMetrics } from "./_metrics.ts";
import { probeOnce } from "./_probe.ts";

/** Between two probe attempts or two healthcheck runs. */
const RECHECK_MS = 250;

/** The instance as the checks see it. */
export interface CheckedInstance {
  /** Its key, for log lines. */
  readonly key: string;
  /** Its name, for log lines. */
  readonly name: string;
  /** Its runtime. */
  readonly runtime: Runtime;
  /** Its description. */
  readonly info: InstanceInfo;
  /** Its last status. */
  readonly status: string;
  /** Its last health. */
  health: Health | undefined;
  /** Whether it is ready. */
  readonly ready: boolean;
}

/** The healthcheck and probe state of one instance. */
export class ReadinessChecks {
  #instance: CheckedInstance;
  #metrics: ServeMetrics;
  #logger: ServeLogger;
  #changed: () => void;
  #signal: AbortSignal;
  #probeOk = false;
  #healthFallback = false;
  #checking = false;

  /**
   * @param instance The instance.
   * @param context Counters, logger, the change callback, and the instance's life signal.
   */
  constructor(
    instance: CheckedInstance,
    context: {
      metrics: ServeMetrics;
      logger: ServeLogger;
      changed: () => void;
      signal: AbortSignal;
    },
  ) {
    this.#instance = instance;
    this.#metrics = context.metrics;
    this.#logger = context.logger;
    this.#changed = context.changed;
    this.#signal = context.signal;
  }

  /** Whether the healthcheck (when there is one) and the probe (when there is one) passed. */
  get passed(): boolean {
    const { info, health } = this.#instance;
    return (!info.healthcheck || health === "healthy" || this.#healthFallback) &&
      (info.probe === undefined || this.#probeOk);
  }

  /** Forgets the probe's success (the instance went down). */
  resetProbe(): void {
    this.#probeOk = false;
  }

  /** Forgets everything (the instance started afresh). */
  reset(): void {
    this.#probeOk = false;
    this.#healthFallback = false;
  }

  /** Starts the checks if the instance needs them and none run. */
  run(): void {
    if (this.#checking || (!this.#needsHealthcheck() && !this.#needsProbe())) return;
    this.#checking = true;
    this.#loop().finally(() => {
      this.#checking = false;
      this.#changed();
    });
  }

  #needsHealthcheck(): boolean {
    const { info, runtime, health } = this.#instance;
    return info.healthcheck && runtime.runHealthcheck !== undefined && health !== "healthy" &&
      !this.#healthFallback;
  }

  #needsProbe(): boolean {
    return this.#instance.info.probe !== undefined && !this.#probeOk;
  }

  async #loop(): Promise<void> {
    const instance = this.#instance;
    const signal = this.#signal;
    while (!signal.aborted && instance.status === "running" && !instance.ready) {
      if (this.#needsHealthcheck()) await this.#runHealthcheck();
      if (this.#needsProbe() && instance.status === "running") {
        this.#probeOk = await probeOnce(instance.info.probe!, signal);
      }
      this.#changed();
      if (instance.ready) break;
      await sleepFor(RECHECK_MS, signal);
    }
  }

  async #runHealthcheck(): Promise<void> {
    const instance = this.#instance;
    try {
      this.#metrics.runtimeRequest();
      instance.health = await instance.runtime.runHealthcheck!(instance.info.runtimeId, {
        signal: this.#signal,
      });
    } catch (error) {
      if (this.#signal.aborted) return;
      this.#healthFallback = true;
      this.#logger.warn(
        `Cannot run the healthcheck of ${instance.name}; ready as soon as it runs: ${
          messageOf(error)
        }`,
        { instance: instance.key },
      );
    }
  }
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve(); // An aborted signal never fires: no timer then.
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
