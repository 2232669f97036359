/**
 * The Docker Engine API endpoints a provider uses, and what their answers
 * mean, described as data. Podman's Docker-compatible API answers the same
 * endpoints, with 500 `container state improper` where Docker says 409.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import type { ContainerStatus } from "../provider.ts";

/** The newest Engine API version this provider speaks; older daemons get their own. */
export const MAX_API_VERSION = "1.51";

/** The version to assume when a daemon's `/_ping` sends no `API-Version` (the docker client's rule). */
export const FALLBACK_API_VERSION = "1.24";

/** The first version whose `POST /containers/{id}/stop` takes `signal=`. */
export const STOP_SIGNAL_API_VERSION = "1.42";

/** The operations a provider performs on a container. */
export type ContainerAction = "start" | "stop" | "pause" | "unpause" | "kill";

/** How one container operation is sent, and which answers mean success. */
export interface ActionEndpoint {
  /** The last path segment: `POST /containers/{id}/<segment>`. */
  segment: string;
  /** Sending it twice does no harm, so it may be replayed on a connection that went stale. */
  idempotent: boolean;
  /** Answers that mean it was done (304: the container already was in that state). */
  success: readonly number[];
  /**
   * Answers that mean "the container is not in a state for that", such as
   * already paused (Docker 409; Podman 500 `container state improper`).
   * The provider then inspects the container and succeeds when it is
   * already in {@linkcode ActionEndpoint.target}. When the target is
   * `stopped` and the container is paused (Podman refuses to stop a paused
   * container), it unpauses the container and sends the operation again.
   */
  conflict: readonly number[];
  /** The status the operation leads to. */
  target: ContainerStatus;
}

const OK = [200, 204, 304] as const;
const CONFLICT = [409, 500] as const;

/**
 * The container operations. `kill` targets `stopped`: killing a container
 * that is not running has nothing left to do, whatever the signal.
 */
export const ACTIONS: Readonly<Record<ContainerAction, ActionEndpoint>> = {
  start: { segment: "start", idempotent: true, success: OK, conflict: CONFLICT, target: "running" },
  stop: { segment: "stop", idempotent: true, success: OK, conflict: CONFLICT, target: "stopped" },
  pause: { segment: "pause", idempotent: true, success: OK, conflict: CONFLICT, target: "paused" },
  unpause: {
    segment: "unpause",
    idempotent: true,
    success: OK,
    conflict: CONFLICT,
    target: "running",
  },
  kill: { segment: "kill", idempotent: false, success: OK, conflict: CONFLICT, target: "stopped" },
};

/** The answer that means "no such container". */
export const NOT_FOUND = 404;

/** How each Docker `State.Status` maps to a {@linkcode ContainerStatus}; anything else is `"error"`. */
export const STATE_MAP: Readonly<Record<string, ContainerStatus>> = {
  running: "running",
  restarting: "running",
  paused: "paused",
  exited: "stopped",
  created: "stopped",
  dead: "error",
  removing: "error",
};

/**
 * Maps a Docker `State.Status` to a status.
 *
 * @param state The raw state, such as `"exited"`.
 * @returns The status; `"error"` for states not in {@linkcode STATE_MAP}.
 */
export function mapState(state: string): ContainerStatus {
  return Object.hasOwn(STATE_MAP, state) ? STATE_MAP[state] : "error";
}

/**
 * The path of a container endpoint, with the id percent-encoded.
 *
 * @param container A validated container id or name.
 * @param segment The endpoint (`"start"`, `"json"`, `"wait"`, ...).
 * @param query Query parameters; empty values are left out.
 * @returns An unversioned origin-form path.
 */
export function containerPath(
  container: string,
  segment: string,
  query: Record<string, string> = {},
): string {
  const params = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== ""));
  const search = params.size === 0 ? "" : `?${params}`;
  return `/containers/${encodeURIComponent(container)}/${segment}${search}`;
}

/**
 * The longest container id or name accepted: 256 characters. Ids are 64 hex
 * digits; names are far shorter in practice, and a daemon has no use for more.
 */
export const MAX_CONTAINER_ID_LENGTH = 256;

/**
 * Refuses a container id or name that could leave its path segment or is
 * not a string: empty, dots only (`.`, `..`), longer than
 * {@linkcode MAX_CONTAINER_ID_LENGTH}, or containing `/`, `?`, `#` or a
 * control character. Everything else (`a..b` too) is percent-encoded into
 * the path.
 *
 * @param container The id or name.
 * @returns The same string.
 * @throws {InvalidArgumentError} When it is not a usable id or name.
 */
export function checkContainerId(container: string): string {
  if (typeof container !== "string") {
    throw new InvalidArgumentError(
      `Invalid container id or name: expected a string, got ${describeValue(container)}`,
    );
  }
  if (container === "") {
    throw new InvalidArgumentError("Invalid container id or name: it is empty");
  }
  if (container.length > MAX_CONTAINER_ID_LENGTH) {
    throw new InvalidArgumentError(
      `Invalid container id or name ${JSON.stringify(container.slice(0, 40))}...: ` +
        `${container.length} characters, at most ${MAX_CONTAINER_ID_LENGTH} are allowed`,
    );
  }
  // deno-lint-ignore no-control-regex
  const bad = /[/?#\u0000-\u001f\u007f]/.exec(container) ??
    (/^\.+$/.test(container) ? [container] : null);
  if (bad !== null) {
    throw new InvalidArgumentError(
      `Invalid container id or name ${JSON.stringify(container)}: ${
        JSON.stringify(bad[0])
      } is not allowed in a container id or name`,
      { container },
    );
  }
  return container;
}

/** A value of the wrong type, for a message: its type, and its text when short. */
function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  const text = String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`;
}

/**
 * Compares two API versions such as `"1.41"` and `"1.9"`.
 *
 * @param a A version.
 * @param b Another version.
 * @returns A negative number, zero, or a positive number, as `a` is older, equal or newer.
 */
export function compareApiVersions(a: string, b: string): number {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * Picks the version to speak: the daemon's, capped at {@linkcode MAX_API_VERSION}.
 *
 * @param server The daemon's `API-Version` header, if it sent one.
 * @returns The version to put in paths.
 */
export function negotiateApiVersion(server: string | null): string {
  if (server === null || !/^\d+\.\d+$/.test(server.trim())) return FALLBACK_API_VERSION;
  const version = server.trim();
  return compareApiVersions(version, MAX_API_VERSION) < 0 ? version : MAX_API_VERSION;
}
