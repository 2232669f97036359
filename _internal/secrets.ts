/**
 * The secrets the library holds (a Proxmox token's secret, a password, a
 * ticket and its CSRF token), so that every error built from server text can
 * redact them: a server or proxy that echoes a request's headers back must
 * not make the library repeat them in a message, a log line or the CLI's
 * output.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { redactSecrets, registerSecret } from "./secrets.ts";
 *
 * registerSecret("0d5e7c4a-1b2f-4e3d");
 * strictEqual(redactSecrets("401 PVEAPIToken=a@pve!b=0d5e7c4a-1b2f-4e3d"), "401 PVEAPIToken=a@pve!b=[redacted]");
 * ```
 *
 * @module
 */

/** Long-lived secrets: kept for the life of the process. */
const LASTING = new Set<string>();
/** Tickets and CSRF tokens, renewed every hour or two: the latest few are kept. */
const ROTATING: string[] = [];
const ROTATING_KEPT = 32;
/** Shorter strings are too likely to be ordinary text. */
const SHORTEST = 6;

/**
 * Remembers a secret to redact, as written and percent-encoded.
 *
 * @param secret The secret.
 * @param options `rotating` for a ticket or CSRF token (only the latest few are kept).
 */
export function registerSecret(secret: string, options: { rotating?: boolean } = {}): void {
  if (typeof secret !== "string" || secret.length < SHORTEST) return;
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    if (!options.rotating) LASTING.add(form);
    else if (!ROTATING.includes(form)) {
      ROTATING.push(form);
      if (ROTATING.length > ROTATING_KEPT) ROTATING.shift();
    }
  }
}

/**
 * Replaces every registered secret in `text` with `[redacted]`.
 *
 * @param text Any text, such as a server's message.
 * @returns The text without a registered secret.
 */
export function redactSecrets(text: string): string {
  for (const secret of LASTING) {
    if (text.includes(secret)) text = text.replaceAll(secret, "[redacted]");
  }
  for (const secret of ROTATING) {
    if (text.includes(secret)) text = text.replaceAll(secret, "[redacted]");
  }
  return text;
}
