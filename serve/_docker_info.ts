/**
 * A container's inspection (`GET /containers/{id}/json`) read into an
 * {@linkcode InstanceInfo}. The engine may answer any shape: an inspection
 * that cannot be read (no id, no name, no state) skips the container with
 * one warning that names it; a label that is not text is ignored with a
 * warning; nothing throws.
 *
 * @module
 */

import { messageOf } from "../_internal/message.ts";
import { isObject, labelsOf, runtimeIdOf, shortJson, textOf } from "./_answers.ts";
import { composeDependencies, groupsOf, isEnabled, sleepPolicyOf } from "./_labels.ts";
import type { InstanceInfo, ObservedState } from "./_model.ts";
import { probeFromLabels } from "./_probe.ts";

/** What reading an inspection needs. */
export interface DockerInfoContext {
  /** The engine's name, for warnings. */
  engine: string;
  /** The id the container was asked by, to name it when its answer has none. */
  askedId: string;
  /** The `KEY=VALUE` label the container must also carry. */
  only?: [string, string];
  /** Receives one line per problem. */
  warn(message: string): void;
}

/**
 * Reads an inspection.
 *
 * @param raw The answer, any shape.
 * @param context The engine's name, the id asked, the extra label, the warnings.
 * @returns The description; `undefined` when the container is not opted in
 *   or its answer cannot be read (then one warning says so).
 */
export function dockerInfo(raw: unknown, context: DockerInfoContext): InstanceInfo | undefined {
  const { engine, askedId } = context;
  const skip = (what: string, why: string) => {
    context.warn(`${engine}/${what}: skipped: ${why}`);
    return undefined;
  };
  if (!isObject(raw)) return skip(askedId, `its inspection is not an object: ${shortJson(raw)}`);
  const config = isObject(raw.Config) ? raw.Config : {};
  const { labels, ignored } = labelsOf(config.Labels);
  if (!isEnabled(labels)) return undefined;
  if (context.only !== undefined && labels[context.only[0]] !== context.only[1]) return undefined;
  const runtimeId = runtimeIdOf(raw.Id);
  if (runtimeId === undefined) return skip(askedId, `its Id is not an id: ${shortJson(raw.Id)}`);
  const name = (textOf(raw.Name) ?? "").replace(/^\//, "");
  if (name === "") return skip(runtimeId, `it has no name: ${shortJson(raw.Name)}`);
  const state = raw.State;
  if (!isObject(state) || typeof state.Status !== "string") {
    return skip(name, `its State is not an object with a Status: ${shortJson(state)}`);
  }
  const warn = (message: string) => context.warn(`${engine}/${name}: ${message}`);
  if (ignored.length > 0) {
    warn(`labels that are not text are ignored: ${shortJson(ignored)}`);
  }
  const healthcheck = isObject(config.Healthcheck) ? config.Healthcheck : {};
  const test = Array.isArray(healthcheck.Test) ? healthcheck.Test : [];
  const hasHealthcheck = test.length > 0 && test[0] !== "NONE";
  let probe;
  try {
    probe = probeFromLabels(labels);
  } catch (error) {
    warn(`${messageOf(error)}; no probe`);
  }
  return {
    runtimeId,
    name,
    aliases: [],
    groups: groupsOf(labels["sablier.group"]),
    sleep: sleepPolicyOf({
      sleep: labels["idlewatcher.sleep"],
      stopSignal: labels["idlewatcher.stop-signal"],
      stopTimeout: labels["idlewatcher.stop-timeout"],
    }, warn),
    healthcheck: hasHealthcheck,
    probe,
    composeProject: labels["com.docker.compose.project"],
    composeService: labels["com.docker.compose.service"],
    dependsOn: composeDependencies(labels["com.docker.compose.depends_on"]),
    state: observed(state, hasHealthcheck),
  };
}

function observed(state: Record<string, unknown>, hasHealthcheck: boolean): ObservedState {
  const status = textOf(state.Status) ?? "";
  if (state.Paused === true || status === "paused") return { status: "paused" };
  if (status === "dead") return { status: "error" };
  if (status !== "running") return { status: "stopped" };
  if (!hasHealthcheck) return { status: "running" };
  const health = isObject(state.Health) ? textOf(state.Health.Status) : undefined;
  return {
    status: "running",
    health: health === "healthy" || health === "unhealthy" ? health : "starting",
  };
}
