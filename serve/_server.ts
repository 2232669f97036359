/**
 * The whole server: the engine, the themes and the HTTP listener, and the
 * drain that ends them (stop accepting, answer what is in flight, save the
 * sessions).
 *
 * @module
 */

import { IdleEngine } from "./_engine.ts";
import type { Runtime, ServeLogger } from "./_model.ts";
import { createHandler } from "./_routes.ts";
import { DEFAULT_THEME, ThemeRegistry } from "./_themes/mod.ts";

/** The defaults Sablier uses where a request leaves a parameter out. */
const DEFAULT_REFRESH_MS = 5_000;
const DEFAULT_BLOCKING_TIMEOUT_MS = 60_000;
/** How long a drain lets blocking requests wait before answering them 503. */
const DRAIN_GRACE_MS = 10_000;

/** Options of {@linkcode IdleServer.start}. */
export interface IdleServerOptions {
  /** Where to listen. */
  hostname: string;
  /** The port; 0 picks a free one. */
  port: number;
  /** The runtimes to manage. */
  runtimes: Runtime[];
  /** Where sessions are saved. */
  stateDir?: string;
  /** Custom themes (`NAME.html`). */
  themesDir?: string;
  /** The default session duration, in ms. */
  sessionMs: number;
  /** Where to report. */
  logger: ServeLogger;
}

/** A running server. */
export class IdleServer implements AsyncDisposable {
  /** The engine. */
  readonly engine: IdleEngine;
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #draining: AbortController;
  #cancelWaits: AbortController;
  #closed: Promise<void> | undefined;

  private constructor(
    engine: IdleEngine,
    server: Deno.HttpServer<Deno.NetAddr>,
    draining: AbortController,
    cancelWaits: AbortController,
  ) {
    this.engine = engine;
    this.#server = server;
    this.addr = server.addr;
    this.#draining = draining;
    this.#cancelWaits = cancelWaits;
  }

  /**
   * Loads the themes, starts the engine (discovery bounded), then listens.
   *
   * @param options Where to listen, the runtimes, the state and themes directories.
   * @returns The running server.
   */
  static async start(options: IdleServerOptions): Promise<IdleServer> {
    const themes = await ThemeRegistry.load({ dir: options.themesDir });
    const engine = new IdleEngine({
      runtimes: options.runtimes,
      stateDir: options.stateDir,
      defaultSessionMs: options.sessionMs,
      logger: options.logger,
    });
    try {
      await engine.start();
    } catch (error) {
      await engine.close();
      throw error;
    }
    const draining = new AbortController();
    const cancelWaits = new AbortController();
    const handler = createHandler({
      engine,
      themes,
      logger: options.logger,
      draining: draining.signal,
      cancelWaits: cancelWaits.signal,
      defaults: {
        sessionMs: options.sessionMs,
        refreshMs: DEFAULT_REFRESH_MS,
        timeoutMs: DEFAULT_BLOCKING_TIMEOUT_MS,
        showDetails: true,
        theme: DEFAULT_THEME,
      },
    });
    const server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: () => {},
      onError: (error) => {
        options.logger.error(`HTTP failure: ${(error as Error)?.message ?? error}`);
        return new Response("Internal Server Error", { status: 500 });
      },
    }, handler);
    options.logger.info(`Listening on http://${server.addr.hostname}:${server.addr.port}`);
    return new IdleServer(engine, server, draining, cancelWaits);
  }

  /** Whether a drain began. */
  get draining(): boolean {
    return this.#draining.signal.aborted;
  }

  /**
   * Drains: `/health` turns 503, no new connection is accepted, requests in
   * flight are answered (blocking waits end with 503 after a grace period),
   * the sessions are saved, the runtimes released. Sessions keep running.
   * Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#draining.abort();
      const grace = setTimeout(() => this.#cancelWaits.abort(), DRAIN_GRACE_MS);
      try {
        await this.#server.shutdown();
      } finally {
        clearTimeout(grace);
        this.#cancelWaits.abort();
        await this.engine.close();
      }
    })();
    return this.#closed;
  }

  /** Closes the server, like {@linkcode IdleServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
