/**
 * Turns a PVE answer that is not a success into a typed error that keeps
 * PVE's own message: the body's `message` (PVE >= 8.4), else the reason
 * phrase (older PVE put the message only there).
 *
 * @module
 */

import {
  errorFields,
  errorOfKind,
  failurePrefix,
  kindOfStatus,
  type RequestContext,
} from "../_internal/errdefs.ts";
import { shortJson } from "../_internal/json.ts";
import type { ProviderError } from "../errors.ts";

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
          // PVE sends text; anything else is shown as JSON, short (String() throws on `{"toString":1}`).
          errors[name] = typeof text === "string" ? text.trim() : shortJson(text);
        }
      }
    }
  } catch {
    // Not JSON (or empty, as for 401 and 595/596): the reason phrase has it.
  }
  return { message: message || answer.statusText.trim(), errors };
}

/** The node a request path is about (`/nodes/<node>/...`), if any. */
export function nodeOfPath(path: string): string | undefined {
  const match = path.match(/^\/nodes\/([^/?]+)/);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    // A malformed escape (`%zz`): the path as written names the node well enough.
    return match[1];
  }
}

/**
 * Builds the error for an answer that is not a 2xx, of the kind
 * {@linkcode kindOfStatus} gives:
 *
 * - 595/596 (a node pveproxy cannot reach; empty body): a `ConnectionError` naming the node.
 * - 500 "Configuration file ... does not exist": a `NotFoundError`.
 * - 400: an `ApiError` listing each parameter and its problem.
 * - 401/403: an `ApiError` that says authentication or permission, with PVE's text.
 * - anything else: an `ApiError` with PVE's message.
 */
export function answerError(
  answer: RawAnswer,
  path: string,
  context: RequestContext,
): ProviderError {
  const { message, errors } = pveMessage(answer);
  const { status } = answer;
  const kind = kindOfStatus("proxmox", status, message);
  const options = errorFields("proxmox", context);
  const head = failurePrefix(context);
  if (kind === "connection") {
    const node = nodeOfPath(path);
    const where = node === undefined ? "the cluster" : `node "${node}"`;
    return errorOfKind(
      kind,
      `${head}: PVE cannot reach ${where} (${status} ${message || "no reason given"})`,
      options,
    );
  }
  if (kind === "not-found") return errorOfKind(kind, `${head}: ${message}`, options);
  let detail = message || "no message";
  if (status === 400) {
    const listed = Object.entries(errors).map(([name, text]) => `${name}: ${text}`);
    if (listed.length > 0) detail = `${detail.replace(/\.$/, "")}: ${listed.join("; ")}`;
  }
  const said = status === 401 ? " (authentication)" : status === 403 ? " (permission)" : "";
  return errorOfKind(kind, `${head}: PVE returned ${status}${said}: ${detail}`, {
    ...options,
    status,
    serverMessage: message,
  });
}
