/**
 * The {@linkcode Provider} of one Proxmox VE LXC container.
 *
 * @module
 */

import { boundedSignal, delay } from "../_internal/abort.ts";
import { logFailure } from "../_internal/log_failure.ts";
import { checkSignal, checkStopTimeout } from "../_internal/validate.ts";
import {
  ApiError,
  InvalidArgumentError,
  NotFoundError,
  ProviderError,
  TimeoutError,
} from "../errors.ts";
import {
  type CallOptions,
  type ContainerSignal,
  ContainerStatus,
  type Provider,
  type WatchStreams,
} from "../provider.ts";
import { isConfigMissing, type RequestContext } from "./_errors.ts";
import { clusterGuests, NODE_NAME } from "./_guests.ts";
import { isSuspended, isTaskOk, latestPowerTask, parseUpid, waitForTask } from "./_tasks.ts";
import { backoff } from "../_internal/backoff.ts";
import { POLL_BACKOFF } from "./_timing.ts";
import { type ClientCore, clientCore, ProxmoxClient, type ProxmoxConfig } from "./client.ts";

/** Options of {@linkcode newProxmoxProvider}. */
export interface ProxmoxProviderOptions extends CallOptions {
  /**
   * The cluster's client, shared with other providers; its owner closes it.
   * @default {undefined}
   */
  client?: ProxmoxClient;
  /**
   * A configuration for a client of this provider's own (closed with it).
   * Without `client` or `config`, {@linkcode ProxmoxClient.fromEnv} is used.
   * @default {undefined}
   */
  config?: ProxmoxConfig;
  /**
   * The deadline of a power call, in seconds: the task and the state change
   * it waits for. A stop's deadline is at least its timeout plus 30 s. A
   * call's `signal` can end it sooner, never later. A status read's deadline
   * is the client's per-request `timeout`.
   * @default {120}
   */
  actionTimeout?: number;
}

type PowerAction = "start" | "shutdown" | "stop" | "suspend" | "resume";

/** How a power call goes: what it posts, which state it ends in, what it is called. */
interface PowerCall {
  action: PowerAction;
  /** The verb for messages: `start`, `stop`, `kill`, `pause`, `unpause`. */
  verb: string;
  target: ContainerStatus;
  params?: Record<string, number>;
  /** Overrides the provider's action deadline. */
  deadlineMs?: number;
  /** A stop or kill of a paused CT resumed it first: not again. */
  resumed?: boolean;
}

const RESUME: PowerCall = { action: "resume", verb: "unpause", target: ContainerStatus.Running };

const VMID_MIN = 100;
const VMID_MAX = 999_999_999;

/**
 * Creates the provider of LXC container `vmid` on `nodeName`. Checks the
 * arguments before any request, finds the node when `nodeName` is `""`
 * (`GET /cluster/resources?type=vm`), then reads the CT's status once to
 * learn its name and prove it exists.
 *
 * Every power call waits for PVE's task, then for the CT to reach the state
 * asked for (an HA-managed CT changes state after its task ends). Notes on
 * LXC: stop and kill cannot choose a signal (a stop is a clean shutdown, a
 * kill an immediate hard stop); pause is PVE's experimental suspend, a CRIU
 * checkpoint that leaves the CT stopped and fails on nodes without CRIU; a
 * stop or kill of a paused CT resumes it first, so that it ends stopped.
 *
 * A CT migrated to another node is followed there: a call or a watch that
 * no longer finds it on its node looks it up in the cluster before it
 * reports it gone.
 *
 * @param nodeName The node that holds the CT, or `""` to look it up.
 * @param vmid The CT's id, 100 to 999999999.
 * @param options The client or configuration, the call deadline and an abort signal.
 * @returns The provider; close it when done.
 * @throws {InvalidArgumentError} When an argument or the configuration is invalid.
 * @throws {NotFoundError} When no CT `vmid` exists (on `nodeName`, or in the
 * cluster), or the cluster has no node `nodeName` (the message lists its nodes).
 * @throws {ConnectionError | TimeoutError | ApiError} When PVE cannot be asked.
 *
 * @example Wake a CT
 * ```ts ignore
 * import { newProxmoxProvider } from "@idlewatcher/provider/proxmox";
 *
 * using provider = await newProxmoxProvider("pve", 101, {
 *   config: { url: "https://pve.example:8006", tokenId: "idle@pve!watcher", secret: "..." },
 * });
 * const status = await provider.containerStatus();
 * if (status === "paused") await provider.containerUnpause();
 * else if (status === "stopped") await provider.containerStart();
 * ```
 */
export async function newProxmoxProvider(
  nodeName: string,
  vmid: number,
  options: ProxmoxProviderOptions = {},
): Promise<Provider> {
  if (!Number.isInteger(vmid) || vmid < VMID_MIN || vmid > VMID_MAX) {
    throw new InvalidArgumentError(
      `Invalid vmid ${String(vmid)}: expected an integer from ${VMID_MIN} to ${VMID_MAX}`,
      { runtime: "proxmox", container: String(vmid) },
    );
  }
  if (typeof nodeName !== "string" || (nodeName !== "" && !NODE_NAME.test(nodeName))) {
    throw new InvalidArgumentError(
      `Invalid node name ${
        JSON.stringify(nodeName)
      }: expected a host name label, or "" to find the CT's node`,
      { runtime: "proxmox", container: String(vmid) },
    );
  }
  if (options.client !== undefined && options.config !== undefined) {
    throw new InvalidArgumentError("Give either a client or a config, not both", {
      runtime: "proxmox",
      container: String(vmid),
    });
  }
  const actionTimeout = options.actionTimeout ?? 120;
  if (!Number.isFinite(actionTimeout) || actionTimeout <= 0) {
    throw new InvalidArgumentError(
      `Invalid actionTimeout ${String(actionTimeout)}: expected a positive number of seconds`,
      { runtime: "proxmox", container: String(vmid) },
    );
  }
  const owned = options.client === undefined;
  const client = options.client ??
    (options.config ? new ProxmoxClient(options.config) : ProxmoxClient.fromEnv());
  try {
    const core = clientCore(client);
    const signal = options.signal ?? core.transport.closed;
    const node = nodeName || await findNode(core, vmid, signal);
    let current: { name?: string } | null;
    try {
      current = await core.transport.request("GET", statusPath(node, vmid), {
        signal,
        context: {
          what: `read CT ${vmid} on node "${node}"`,
          action: "status",
          container: `${vmid}`,
        },
      }) as { name?: string } | null;
    } catch (error) {
      const unknown = error instanceof ApiError && error.status === 500
        ? await unknownNodeError(core, node, vmid, error, signal)
        : undefined;
      throw unknown ?? error;
    }
    const name = typeof current?.name === "string" && current.name ? current.name : `CT${vmid}`;
    return new ProxmoxProvider({ client, owned, core, node, vmid, name, actionTimeout });
  } catch (error) {
    if (owned) client.close();
    throw error;
  }
}

async function findNode(core: ClientCore, vmid: number, signal: AbortSignal): Promise<string> {
  const guests = await clusterGuests(core.transport, {
    signal,
    context: { what: `find the node of CT ${vmid}`, action: "status", container: `${vmid}` },
  });
  const entry = guests.get(vmid);
  if (entry?.type === "lxc") return entry.node;
  throw new NotFoundError(
    entry
      ? `Guest ${vmid} is a ${
        entry.type === "qemu" ? "QEMU virtual machine" : entry.type
      }, not an LXC container`
      : `No LXC container ${vmid} in the cluster`,
    { runtime: "proxmox", action: "status", container: `${vmid}` },
  );
}

/**
 * Tells whether a 500 of `status/current` means that `node` is not in the
 * cluster (pveproxy's hostname lookup of an unknown node fails with a 500,
 * like many other problems): asks `GET /nodes`.
 *
 * @returns A {@linkcode NotFoundError} naming the node and the cluster's
 * nodes; `undefined` when the node exists or the nodes cannot be listed.
 */
async function unknownNodeError(
  core: ClientCore,
  node: string,
  vmid: number,
  cause: ApiError,
  signal: AbortSignal,
): Promise<NotFoundError | undefined> {
  let nodes: { node?: unknown }[] | null;
  try {
    nodes = await core.transport.request("GET", "/nodes", {
      signal,
      context: { what: "list the cluster's nodes", action: "status", container: `${vmid}` },
    }) as { node?: unknown }[] | null;
  } catch (error) {
    if (signal.aborted) throw error;
    return undefined;
  }
  const names = (nodes ?? []).map((entry) => entry.node)
    .filter((name): name is string => typeof name === "string").sort();
  if (names.length === 0 || names.includes(node)) return undefined;
  return new NotFoundError(
    `Cannot read CT ${vmid} on node "${node}": the cluster has no node "${node}" ` +
      `(available nodes: ${names.join(", ")})`,
    { runtime: "proxmox", action: "status", container: `${vmid}`, cause },
  );
}

function statusPath(node: string, vmid: number, action = "current"): string {
  return `/nodes/${encodeURIComponent(node)}/lxc/${vmid}/status/${action}`;
}

interface ProviderParts {
  client: ProxmoxClient;
  owned: boolean;
  core: ClientCore;
  node: string;
  vmid: number;
  name: string;
  actionTimeout: number;
}

class ProxmoxProvider implements Provider {
  #client: ProxmoxClient;
  #owned: boolean;
  #core: ClientCore;
  #node: string;
  #vmid: number;
  #name: string;
  #actionTimeoutMs: number;
  #closing = new AbortController();

  constructor(parts: ProviderParts) {
    this.#client = parts.client;
    this.#owned = parts.owned;
    this.#core = parts.core;
    this.#node = parts.node;
    this.#vmid = parts.vmid;
    this.#name = parts.name;
    this.#actionTimeoutMs = parts.actionTimeout * 1000;
  }

  containerStart(options?: CallOptions): Promise<void> {
    return this.#power({
      action: "start",
      verb: "start",
      target: ContainerStatus.Running,
    }, options);
  }

  containerStop(
    signal: ContainerSignal,
    timeout: number,
    options?: CallOptions,
  ): Promise<void> {
    let seconds: number;
    try {
      checkSignal(signal, this.#errorOptions("stop"));
      seconds = checkStopTimeout(timeout, this.#errorOptions("stop"));
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal !== "") {
      this.#logger.debug(
        `CT ${this.#vmid}: LXC shutdown cannot send ${signal}; PVE asks the CT's init to stop`,
        { container: `${this.#vmid}`, action: "stop" },
      );
    }
    return this.#power({
      action: "shutdown",
      verb: "stop",
      target: ContainerStatus.Stopped,
      params: { timeout: seconds, forceStop: 1 },
      deadlineMs: Math.max(this.#actionTimeoutMs, (seconds + 30) * 1000),
    }, options);
  }

  containerKill(signal: ContainerSignal, options?: CallOptions): Promise<void> {
    try {
      checkSignal(signal, this.#errorOptions("kill"));
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal !== "" && signal !== "SIGKILL" && signal !== "KILL") {
      this.#logger.debug(
        `CT ${this.#vmid}: LXC cannot be sent ${signal}; kill is PVE's immediate hard stop`,
        { container: `${this.#vmid}`, action: "kill" },
      );
    }
    return this.#power({
      action: "stop",
      verb: "kill",
      target: ContainerStatus.Stopped,
    }, options);
  }

  containerPause(options?: CallOptions): Promise<void> {
    return this.#power({
      action: "suspend",
      verb: "pause",
      target: ContainerStatus.Paused,
    }, options);
  }

  containerUnpause(options?: CallOptions): Promise<void> {
    return this.#power(RESUME, options);
  }

  /** A read, not an action: its deadline is the client's per-request timeout. */
  async containerStatus(options?: CallOptions): Promise<ContainerStatus> {
    try {
      return await this.#bounded(
        this.#core.transport.config.timeoutMs,
        this.#context({ verb: "status" }),
        options,
        (signal) => this.#followingMigration(signal, () => this.#status(signal)),
      );
    } catch (error) {
      this.#logFailure(error, "status", options);
      throw error;
    }
  }

  watch(options?: CallOptions): WatchStreams {
    const closing = this.#closing.signal;
    // The provider's close ends the watch through the signal.
    const signal = options?.signal ? AbortSignal.any([options.signal, closing]) : closing;
    return this.#core.poller.watch(
      { node: this.#node, vmid: this.#vmid, name: this.#name },
      signal,
    );
  }

  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(
      new ProviderError(`The provider of CT ${this.#vmid} is closed`, this.#errorOptions("close")),
    );
    if (this.#owned) this.#client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  get #logger() {
    return this.#core.transport.config.logger;
  }

  #errorOptions(action: string) {
    return { runtime: "proxmox" as const, action, container: `${this.#vmid}` };
  }

  #context(call: { verb: string }): RequestContext {
    const what = call.verb === "status" ? "read the status of" : call.verb;
    return {
      what: `${what} CT ${this.#vmid} on node "${this.#node}"`,
      action: call.verb,
      container: `${this.#vmid}`,
    };
  }

  /**
   * Runs `body` under a deadline of `deadlineMs`, the caller's signal and the
   * provider's close, whichever ends first. A passed deadline becomes a
   * {@linkcode TimeoutError}; an abort rejects with its reason.
   */
  async #bounded<T>(
    deadlineMs: number,
    context: RequestContext,
    options: CallOptions | undefined,
    body: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    // Disposed when the call settles: no timer or listener outlives it.
    using bounded = boundedSignal(deadlineMs, [options?.signal, this.#closing.signal]);
    const { signal } = bounded;
    try {
      signal.throwIfAborted();
      return await body(signal);
    } catch (error) {
      if (bounded.timedOut && error === signal.reason) {
        throw new TimeoutError(
          `Cannot ${context.what}: not done within ${deadlineMs / 1000} s`,
          this.#errorOptions(context.action ?? ""),
        );
      }
      throw error;
    }
  }

  async #power(call: PowerCall, options: CallOptions | undefined): Promise<void> {
    const context = this.#context(call);
    try {
      await this.#bounded(
        call.deadlineMs ?? this.#actionTimeoutMs,
        context,
        options,
        (signal) =>
          this.#followingMigration(signal, () => this.#run(call, this.#context(call), signal)),
      );
    } catch (error) {
      this.#logFailure(error, call.verb, options);
      throw error;
    }
  }

  /** Logs a failed call by the rule both providers share ({@linkcode logFailure}). */
  #logFailure(error: unknown, action: string, options: CallOptions | undefined): void {
    logFailure(this.#logger, error, {
      action,
      container: `${this.#vmid}`,
      cancelled: options?.signal?.aborted === true || this.#closing.signal.aborted,
    });
  }

  async #run(call: PowerCall, context: RequestContext, signal: AbortSignal): Promise<void> {
    const { transport } = this.#core;
    let data: unknown;
    try {
      data = await transport.request("POST", statusPath(this.#node, this.#vmid, call.action), {
        params: call.params,
        signal,
        context,
      });
    } catch (error) {
      // A refusal ("already running", "not running", a lock): success if the CT is already there.
      if (!(error instanceof ApiError && error.status === 500)) throw error;
      const status = await this.#statusAfterRefusal(signal);
      if (status === call.target) {
        this.#logger.debug(`CT ${this.#vmid} is already ${call.target}`, {
          container: `${this.#vmid}`,
          action: call.verb,
        });
        return;
      }
      if (
        status === ContainerStatus.Paused && call.target === ContainerStatus.Stopped &&
        !call.resumed
      ) {
        await this.#resumeToEnd(call, signal);
        return await this.#run({ ...call, resumed: true }, context, signal);
      }
      throw error;
    }
    const upid = parseUpid(data);
    if (upid === undefined) {
      throw new ProviderError(
        `Cannot ${context.what}: PVE answered with no task id (${JSON.stringify(data)})`,
        this.#errorOptions(call.verb),
      );
    }
    const exitstatus = await waitForTask(transport, upid, {
      signal,
      context,
      // A resume task keeps running while the CT it restored runs.
      doneWhileRunning: call.action === "resume"
        ? () => this.#isIn(call.target, signal)
        : undefined,
    });
    if (exitstatus !== undefined && !isTaskOk(exitstatus)) {
      if (
        call.action !== "suspend" && await this.#statusAfterRefusal(signal) === call.target
      ) return;
      throw this.#taskError(call, context, upid.type, exitstatus);
    }
    await this.#waitFor(call.target, signal);
  }

  /**
   * Runs `body`; when it finds no CT on the provider's node, looks the CT up
   * in the cluster and, when it was migrated, follows it to its new node and
   * runs `body` once more there. Power actions are safe to send again: one
   * that already took effect is refused, and that refusal is success.
   */
  async #followingMigration<T>(signal: AbortSignal, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      if (!(error instanceof NotFoundError) || !await this.#followCt(signal)) throw error;
      return await body();
    }
  }

  /**
   * Looks for the CT in the cluster (`GET /cluster/resources?type=vm`).
   * @returns Whether it is on another node, which is now the provider's.
   */
  async #followCt(signal: AbortSignal): Promise<boolean> {
    let node: string | undefined;
    try {
      const guest = (await clusterGuests(this.#core.transport, {
        signal,
        context: {
          what: `find the node of CT ${this.#vmid}`,
          action: "status",
          container: `${this.#vmid}`,
        },
      })).get(this.#vmid);
      if (guest?.type === "lxc") node = guest.node;
    } catch (error) {
      if (signal.aborted) throw error;
      return false;
    }
    if (node === undefined || node === this.#node) return false;
    this.#logger.debug(`CT ${this.#vmid} moved from node "${this.#node}" to "${node}"`, {
      container: `${this.#vmid}`,
    });
    this.#node = node;
    return true;
  }

  #taskError(call: PowerCall, context: RequestContext, type: string, exitstatus: string): Error {
    const options = this.#errorOptions(call.verb);
    const message = `Cannot ${context.what}: task ${type} failed: ${exitstatus}`;
    if (isConfigMissing(exitstatus)) return new NotFoundError(message, options);
    const hint = call.action === "suspend"
      ? ". PVE suspends an LXC container with a CRIU checkpoint, which needs CRIU on the node; use containerStop instead"
      : "";
    return new ApiError(message + hint, { ...options, status: 0, serverMessage: exitstatus });
  }

  /** Polls the CT's state until it is `target`: at once, then backing off from 15 ms to 1 s. */
  async #waitFor(target: ContainerStatus, signal: AbortSignal): Promise<void> {
    const waits = backoff(POLL_BACKOFF);
    while (!await this.#isIn(target, signal)) {
      await delay(waits.next().value, { signal });
    }
  }

  /**
   * The CT's status, to judge a refused call or a failed task by;
   * `undefined` when it cannot be read, so that the refusal is what surfaces.
   */
  async #statusAfterRefusal(signal: AbortSignal): Promise<ContainerStatus | undefined> {
    try {
      return await this.#status(signal);
    } catch (error) {
      // No CT on the node says more than the refusal: it may have moved.
      if (signal.aborted || error instanceof NotFoundError) throw error;
      return undefined;
    }
  }

  /**
   * Resumes a paused CT that is to be stopped or killed. PVE refuses both on
   * a suspended CT (it is not running), and the CT stays "paused" while its
   * latest power task is the suspend: a wake would resume the checkpoint.
   * Once resumed, the stop or kill ends it for good, as on Docker. A resume
   * that fails also ends the pause: its failed task is the latest power task
   * of a stopped CT.
   */
  async #resumeToEnd(call: PowerCall, signal: AbortSignal): Promise<void> {
    this.#logger.debug(
      `CT ${this.#vmid} is paused: resuming it so that the ${call.verb} ends its checkpoint`,
      { container: `${this.#vmid}`, action: call.verb },
    );
    try {
      await this.#run(RESUME, this.#context(RESUME), signal);
    } catch (error) {
      // The task failed: the CT is stopped, and no longer paused.
      if (!(error instanceof ApiError) || error.status !== 0) throw error;
    }
  }

  async #isIn(target: ContainerStatus, signal: AbortSignal): Promise<boolean> {
    if (target === ContainerStatus.Paused) return await this.#status(signal) === target;
    const status = await this.#readStatus(signal);
    return status.status === target;
  }

  #readStatus(signal: AbortSignal): Promise<{ status?: string; template?: number | boolean }> {
    return this.#core.transport.request("GET", statusPath(this.#node, this.#vmid), {
      signal,
      context: {
        what: `read the status of CT ${this.#vmid} on node "${this.#node}"`,
        action: "status",
        container: `${this.#vmid}`,
      },
    }) as Promise<{ status?: string; template?: number | boolean }>;
  }

  /**
   * running → running; stopped → paused when the latest power task is a
   * successful suspend (the CRIU checkpoint is kept for a resume), else
   * stopped; a template, or any other status → error.
   */
  async #status(signal: AbortSignal): Promise<ContainerStatus> {
    const current = await this.#readStatus(signal);
    if (current.template === 1 || current.template === true) return ContainerStatus.Error;
    if (current.status === "running") return ContainerStatus.Running;
    if (current.status !== "stopped") return ContainerStatus.Error;
    const task = await latestPowerTask(this.#core.transport, this.#node, this.#vmid, {
      signal,
      context: {
        what: `read the tasks of CT ${this.#vmid} on node "${this.#node}"`,
        action: "status",
        container: `${this.#vmid}`,
      },
    });
    return isSuspended(task) ? ContainerStatus.Paused : ContainerStatus.Stopped;
  }
}
