/**
 * The labels that opt a container in and set how it sleeps and when it is
 * ready, read into the engine's terms.
 *
 * | Label | Meaning |
 * |---|---|
 * | `sablier.enable=true` | managed (nothing else is) |
 * | `sablier.group=NAME` | its group (`default` without it; commas separate several) |
 * | `idlewatcher.sleep=stop\|pause` | how it sleeps (default `stop`) |
 * | `idlewatcher.stop-signal=SIGTERM` | the stop signal (default: the container's own) |
 * | `idlewatcher.stop-timeout=10` | seconds before a stop kills (default 10) |
 * | `idlewatcher.ready-url=http://…` | ready only once this URL answers below 500 |
 * | `idlewatcher.ready-tcp=HOST:PORT` | ready only once this port accepts a connection |
 *
 * @module
 */

import { parseContainerSignal } from "../provider.ts";
import type { SleepPolicy } from "./_model.ts";

/** The stop timeout when no label sets one, in seconds. */
export const DEFAULT_STOP_TIMEOUT = 10;
const MAX_STOP_TIMEOUT = 2 ** 31 - 1;

/**
 * Tells whether the labels opt the container in.
 *
 * @param labels The container's labels.
 * @returns `true` for `sablier.enable=true` only.
 */
export function isEnabled(labels: Record<string, string>): boolean {
  return labels["sablier.enable"] === "true";
}

/**
 * Reads the groups.
 *
 * @param value The `sablier.group` label.
 * @returns The groups; `["default"]` when none is named.
 */
export function groupsOf(value: string | undefined): string[] {
  const groups = (value ?? "").split(",").map((group) => group.trim()).filter((g) => g !== "");
  return groups.length === 0 ? ["default"] : [...new Set(groups)];
}

/**
 * Reads the sleep settings; a bad value is reported and replaced by its default.
 *
 * @param values `sleep`, `stopSignal` and `stopTimeout` as written (label or tag).
 * @param warn Receives one line per bad value.
 * @returns The policy.
 */
export function sleepPolicyOf(
  values: { sleep?: string; stopSignal?: string; stopTimeout?: string },
  warn: (message: string) => void,
): SleepPolicy {
  const policy: SleepPolicy = { method: "stop", signal: "", timeoutSeconds: DEFAULT_STOP_TIMEOUT };
  const { sleep, stopSignal, stopTimeout } = values;
  if (sleep === "pause" || sleep === "stop") policy.method = sleep;
  else if (sleep !== undefined && sleep !== "") {
    warn(`idlewatcher.sleep=${JSON.stringify(sleep)} is neither stop nor pause; using stop`);
  }
  if (stopSignal !== undefined && stopSignal !== "") {
    try {
      policy.signal = parseContainerSignal(stopSignal);
    } catch {
      warn(
        `idlewatcher.stop-signal=${
          JSON.stringify(stopSignal)
        } is not a known signal; using the container's own`,
      );
    }
  }
  if (stopTimeout !== undefined && stopTimeout !== "") {
    const seconds = Number(stopTimeout);
    if (/^\d+$/.test(stopTimeout) && seconds <= MAX_STOP_TIMEOUT) policy.timeoutSeconds = seconds;
    else {
      warn(
        `idlewatcher.stop-timeout=${
          JSON.stringify(stopTimeout)
        } is not whole seconds; using ${DEFAULT_STOP_TIMEOUT}`,
      );
    }
  }
  return policy;
}

/**
 * Reads Docker Compose's `com.docker.compose.depends_on`
 * (`db:service_healthy:false,cache:service_started:true`, or older plain names).
 *
 * @param value The label.
 * @returns The service names.
 */
export function composeDependencies(value: string | undefined): string[] {
  if (value === undefined || value === "") return [];
  return value.split(",").map((entry) => entry.split(":")[0].trim()).filter((s) => s !== "");
}
