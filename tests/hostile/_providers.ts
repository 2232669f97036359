/**
 * Providers pointed at a hostile server, with a logger that keeps every line.
 */

import { newDockerProvider } from "../../docker/mod.ts";
import type { Logger } from "../../log.ts";
import type { Provider } from "../../provider.ts";
import { newProxmoxProvider } from "../../proxmox/mod.ts";
import type { HostileServer } from "./_server.ts";

/** The API token of every Proxmox case: its secret must never show. */
export const TOKEN_ID = "idle@pve!watcher";
/** The token's secret. */
export const SECRET = "0d5e7c4a-1b2f-4e3d-9a8b-7c6d5e4f3a21";

/** Every line a logger received, rendered as a user would see it. */
export class LinesLogger implements Logger {
  readonly lines: string[] = [];
  debug(msg: string, ...args: unknown[]): void {
    this.lines.push(`DEBUG ${msg} ${Deno.inspect(args, { depth: Infinity })}`);
  }
  error(msg: string, ...args: unknown[]): void {
    this.lines.push(`ERROR ${msg} ${Deno.inspect(args, { depth: Infinity })}`);
  }
}

/** A Docker provider for container "web" on the hostile unix socket. */
export function dockerAt(
  server: HostileServer,
  options: { logger?: Logger; maxConnections?: number } = {},
): Provider {
  return newDockerProvider({ url: server.url, ...options }, "web");
}

/** A Proxmox provider for CT 101 on node "pve" of the hostile TLS server. */
export async function proxmoxAt(
  server: HostileServer,
  ca: string,
  options: { logger?: Logger; maxConnections?: number; timeout?: number } = {},
): Promise<Provider> {
  return await newProxmoxProvider("pve", 101, {
    config: { url: server.url, tokenId: TOKEN_ID, secret: SECRET, caCerts: [ca], ...options },
  });
}

/** The answer of PVE's `status/current` for a running CT 101. */
export const CT_RUNNING: string = JSON.stringify({
  data: { vmid: 101, name: "web", status: "running" },
});
