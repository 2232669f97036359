/**
 * The opt-in readiness probe: an HTTP GET that gets any answer below 500, or
 * a TCP connection that opens. Each attempt has a deadline.
 *
 * @module
 */

import type { ReadyProbe } from "./_model.ts";

/** The deadline of one probe attempt. */
export const PROBE_TIMEOUT_MS = 2_000;

/**
 * Tries the probe once.
 *
 * @param probe What to try.
 * @param signal Ends the attempt early.
 * @returns `true` when the service answered.
 */
export async function probeOnce(probe: ReadyProbe, signal: AbortSignal): Promise<boolean> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]);
  try {
    if (probe.kind === "http") {
      const response = await fetch(probe.url, { signal: deadline, redirect: "manual" });
      await response.body?.cancel();
      return response.status < 500;
    }
    const connecting = Deno.connect({ hostname: probe.hostname, port: probe.port });
    const aborted = new Promise<never>((_, reject) => {
      if (deadline.aborted) reject(deadline.reason);
      deadline.addEventListener("abort", () => reject(deadline.reason), { once: true });
    });
    aborted.catch(() => {});
    try {
      const connection = await Promise.race([connecting, aborted]);
      connection.close();
      return true;
    } catch (error) {
      connecting.then((connection) => connection.close(), () => {});
      throw error;
    }
  } catch {
    return false;
  }
}

/**
 * Reads the probe labels: `idlewatcher.ready-url` (an `http:` or `https:`
 * URL) or `idlewatcher.ready-tcp` (`host:port`, or a bare port for
 * 127.0.0.1).
 *
 * @param labels The container's labels.
 * @returns The probe, or `undefined` when neither label is set.
 * @throws {RangeError} When a label is set to something unusable.
 */
export function probeFromLabels(labels: Record<string, string>): ReadyProbe | undefined {
  const url = labels["idlewatcher.ready-url"];
  if (url !== undefined && url !== "") {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RangeError(`Invalid idlewatcher.ready-url ${JSON.stringify(url)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new RangeError(`Invalid idlewatcher.ready-url ${JSON.stringify(url)}: not http(s)`);
    }
    return { kind: "http", url: parsed.href };
  }
  const tcp = labels["idlewatcher.ready-tcp"];
  if (tcp !== undefined && tcp !== "") {
    const match = /^(?:\[?([^\]]*?)\]?:)?(\d{1,5})$/.exec(tcp);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65535) {
      throw new RangeError(
        `Invalid idlewatcher.ready-tcp ${JSON.stringify(tcp)}: expected host:port`,
      );
    }
    return { kind: "tcp", hostname: match[1] || "127.0.0.1", port };
  }
  return undefined;
}
