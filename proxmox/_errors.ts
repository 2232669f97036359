/**
 * Turns a PVE answer that is not a success into a typed error that keeps
 * PVE's own message: the body's `message` (PVE >= 8.4), else the reason
 * phrase (older PVE put the message only there).
 *
 * @module
 */

import {
  ApiError,
  ConnectionError,
  NotFoundError,
  type ProviderError,
  type ProviderErrorOptions,
} from "../errors.ts";

/** What a failed request was doing, for the error's message and fields. */
export interface RequestContext {
  /** Reads after "Cannot ": `start CT 101 on node "pve"`, `GET /version`. */
  what: string;
  /** The operation (`"start"`, `"status"`, ...). */
  action?: string;
  /** The vmid the request was about. */
  container?: string;
}

/** A raw answer: status, reason phrase, body text. */
export interface RawAnswer {
  status: number;
  statusText: string;
  body: string;
}

/** PVE's message for an answer, and its per-parameter errors (400). */
export interface PveMessage {
  message: string;
  errors: Record<string, string>;
}

// pve-guest-common's load_config, and qemu-server's assert_config_exists_on_node.
const CONFIG_MISSING =
  /Configuration file '[^']*' does not exist|unable to find configuration file for (VM|CT) \d+ on node/;

/** Reads PVE's message out of an answer, whichever version sent it. */
export function pveMessage(answer: RawAnswer): PveMessage {
  let message = "";
  const errors: Record<string, string> = {};
  try {
    const body = JSON.parse(answer.body);
    if (body && typeof body === "object") {
      if (typeof body.message === "string") message = body.message.trim();
      if (body.errors && typeof body.errors === "object") {
        for (const [name, text] of Object.entries(body.errors)) {
          errors[name] = String(text).trim();
        }
      }
    }
  } catch {
    // Not JSON (or empty, as for 401 and 595/596): the reason phrase has it.
  }
  return { message: message || answer.statusText.trim(), errors };
}

/** Tells whether a PVE message or task exit status says the guest's config does not exist. */
export function isConfigMissing(message: string): boolean {
  return CONFIG_MISSING.test(message);
}

/** The node a request path is about (`/nodes/<node>/...`), if any. */
export function nodeOfPath(path: string): string | undefined {
  const match = path.match(/^\/nodes\/([^/?]+)/);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/**
 * Builds the error for an answer that is not a 2xx.
 *
 * - 595/596 (a node pveproxy cannot reach; empty body): {@linkcode ConnectionError} naming the node.
 * - 500 "Configuration file ... does not exist" (or "unable to find configuration file"):
 *   {@linkcode NotFoundError}.
 * - 400: {@linkcode ApiError} listing each parameter and its problem.
 * - 401/403: {@linkcode ApiError} that says authentication or permission, with PVE's text.
 * - anything else: {@linkcode ApiError} with PVE's message.
 */
export function answerError(
  answer: RawAnswer,
  path: string,
  context: RequestContext,
): ProviderError {
  const { message, errors } = pveMessage(answer);
  const { status } = answer;
  const options: ProviderErrorOptions = {
    runtime: "proxmox",
    action: context.action,
    container: context.container,
  };
  const head = `Cannot ${context.what}`;
  if (status === 595 || status === 596) {
    const node = nodeOfPath(path);
    const where = node === undefined ? "the cluster" : `node "${node}"`;
    return new ConnectionError(
      `${head}: PVE cannot reach ${where} (${status} ${message || "no reason given"})`,
      options,
    );
  }
  if (status === 500 && isConfigMissing(message)) {
    return new NotFoundError(`${head}: ${message}`, options);
  }
  let detail = message || "no message";
  if (status === 400) {
    const listed = Object.entries(errors).map(([name, text]) => `${name}: ${text}`);
    if (listed.length > 0) detail = `${detail.replace(/\.$/, "")}: ${listed.join("; ")}`;
  }
  const kind = status === 401 ? " (authentication)" : status === 403 ? " (permission)" : "";
  return new ApiError(`${head}: PVE returned ${status}${kind}: ${detail}`, {
    ...options,
    status,
    serverMessage: message,
  });
}
