/**
 * Test setup: a fake PVE cluster with one node and a client for it, torn
 * down together; a logger that keeps every line.
 *
 * @module
 */

import { raceSignal } from "../../_internal/abort.ts";
import type { Logger } from "../../log.ts";
import { ProxmoxClient, type ProxmoxConfig } from "../../proxmox/mod.ts";
import { type FakePve, type FakePveOptions, startFakePve } from "../_fakes/pve/mod.ts";

export const TOKEN_ID = "idle@pve!watcher";
export const SECRET = "5f1c8a2e-9d4b-4c1e-8f7a-3b2d1e0c9a87";
export const USER = "idle@pve";
export const PASSWORD = "correct-horse-battery";

/** Every line a logger received, as text. */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(msg: string, ...args: unknown[]): void {
    this.lines.push(`debug ${msg} ${Deno.inspect(args, { depth: Infinity })}`);
  }
  error(msg: string, ...args: unknown[]): void {
    this.lines.push(`error ${msg} ${Deno.inspect(args, { depth: Infinity })}`);
  }
}

/** Options of {@linkcode setup}. */
export interface SetupOptions extends FakePveOptions {
  /** Authenticate with a ticket (user and password) instead of the API token. */
  ticket?: boolean;
  /** The privileges of the token or user; all when unset. */
  privileges?: string[];
  /** The client's watch interval, in seconds. */
  watchInterval?: number;
}

/** A fake with node "pve", a client, its config and its log. */
export interface Setup extends AsyncDisposable {
  fake: FakePve;
  client: ProxmoxClient;
  config: ProxmoxConfig;
  logger: MemoryLogger;
}

/** Starts a fake PVE with quick defaults (401 delay 5 ms, tasks 20 ms) and a client for it. */
export async function setup(options: SetupOptions = {}): Promise<Setup> {
  const fake = await startFakePve({
    authDelayMs: 5,
    taskDurationMs: 20,
    haDelayMs: 50,
    timeoutSecondMs: 10,
    ...options,
  });
  fake.addNode("pve");
  const privileges = options.privileges ? { privileges: options.privileges } : undefined;
  const logger = new MemoryLogger();
  let config: ProxmoxConfig;
  if (options.ticket) {
    fake.addUser(USER, PASSWORD, privileges);
    config = { url: fake.url, username: USER, password: PASSWORD, caCerts: [fake.caCert] };
  } else {
    fake.addToken(TOKEN_ID, SECRET, privileges);
    config = { url: fake.url, tokenId: TOKEN_ID, secret: SECRET, caCerts: [fake.caCert] };
  }
  config.logger = logger;
  config.watchInterval = options.watchInterval ?? 0.1;
  const client = new ProxmoxClient(config);
  return {
    fake,
    client,
    config,
    logger,
    async [Symbol.asyncDispose]() {
      client.close();
      await fake.close();
    },
  };
}

/** The requests the fake saw, as `"METHOD /path"` below `/api2/json`. */
export function requestLines(fake: FakePve): string[] {
  return fake.requests.map((r) => `${r.method} ${r.path.replace(/^\/api2\/json/, "")}`);
}

/** Waits until `condition()` holds, checking every 5 ms; rejects after `ms`. */
export async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Settles like `promise`, or rejects when it has not settled within `ms` (a stream that never ends). */
export function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  return raceSignal(promise, AbortSignal.timeout(ms));
}
