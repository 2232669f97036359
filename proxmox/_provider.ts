/**
 * The {@linkcode Provider} of one Proxmox VE guest, an LXC container or a
 * QEMU virtual machine: checks each call's arguments, bounds it with a
 * deadline, logs its failure, and hands it to the guest's power state
 * machine (`_power.ts` for a CT, `_vm_power.ts` for a VM) at the node its
 * location (`_locate.ts`) knows.
 *
 * @module
 */

import { withDeadline } from "../_internal/deadline.ts";
import { failurePrefix, type RequestContext } from "../_internal/errdefs.ts";
import { logFailure } from "../_internal/log_failure.ts";
import { checkSignal, checkStopTimeout } from "../_internal/validate.ts";
import { ApiError, InvalidArgumentError, ProviderError, TimeoutError } from "../errors.ts";
import type {
  CallOptions,
  ContainerSignal,
  ContainerStatus,
  Provider,
  WatchStreams,
} from "../provider.ts";
import {
  guestLabel,
  guestStatusPath,
  type GuestType,
  NODE_NAME,
  POWER,
  type PowerCall,
  VM_PAUSE_PARAMS,
} from "./_api.ts";
import { GuestLocation, locateGuest, unknownNodeError } from "./_locate.ts";
import { CtPower } from "./_power.ts";
import { VmPower } from "./_vm_power.ts";
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
  /**
   * The kind of guest: `"lxc"` (a container) or `"qemu"` (a virtual
   * machine). Without it, the cluster says (`GET /cluster/resources`); a
   * guest the cluster does not list is taken for a container.
   * @default {undefined}
   */
  type?: GuestType;
  /**
   * What `containerPause()` does to a VM: `"suspend"` freezes the guest in
   * memory (QEMU's `stop`; a resume thaws it in milliseconds), `"hibernate"`
   * saves it to disk and frees its memory (PVE's suspend with `todisk=1`; a
   * start or an unpause restores it). Containers ignore it.
   * @default {"suspend"}
   */
  vmPause?: VmPause;
}

/** What pausing a VM does: freeze it in memory, or save it to disk. */
export type VmPause = "suspend" | "hibernate";

/**
 * The provider of a Proxmox guest, which says what kind of guest it found.
 *
 * @example Name a guest by its kind
 * ```ts
 * import type { ProxmoxProvider } from "./mod.ts";
 *
 * export function label(provider: ProxmoxProvider, vmid: number): string {
 *   return `${provider.guestType === "qemu" ? "VM" : "CT"} ${vmid}`;
 * }
 * ```
 */
export interface ProxmoxProvider extends Provider {
  /** `"lxc"` for an LXC container, `"qemu"` for a QEMU virtual machine. */
  readonly guestType: GuestType;
}

const GUEST_TYPES: readonly unknown[] = ["lxc", "qemu"];
const VM_PAUSES: readonly unknown[] = ["suspend", "hibernate"];

const VMID_MIN = 100;
const VMID_MAX = 999_999_999;

/**
 * Creates the provider of guest `vmid` on `nodeName`: an LXC container or a
 * QEMU virtual machine. Checks the arguments before any request, learns the
 * guest's kind (unless `options.type` gives it) and, when `nodeName` is
 * `""`, its node from the cluster (`GET /cluster/resources?type=vm`), then
 * reads the guest's status once to learn its name and prove it exists.
 *
 * Every power call waits for PVE's task, then for the guest to reach the
 * state asked for (an HA-managed guest changes state after its task ends).
 * Stop and kill cannot choose a signal: a stop is a clean shutdown, a kill
 * an immediate hard stop.
 *
 * - LXC: pause is PVE's experimental suspend, a CRIU checkpoint that leaves
 *   the CT stopped and fails on nodes without CRIU; a stop or kill of a
 *   paused CT resumes it first, so that it ends stopped.
 * - QEMU: pause freezes the guest in memory or, with `vmPause:
 *   "hibernate"`, saves it to disk; a start or an unpause wakes either. A
 *   stop of a paused or hibernated VM resumes it first, so that the guest
 *   shuts down cleanly; a kill of a hibernated VM resumes it, then stops it.
 *
 * A guest migrated to another node is followed there: a call or a watch
 * that no longer finds it on its node looks it up in the cluster before it
 * reports it gone.
 *
 * @param nodeName The node that holds the guest, or `""` to look it up.
 * @param vmid The guest's id, 100 to 999999999.
 * @param options The client or configuration, the guest's kind, what a VM's
 * pause does, the call deadline and an abort signal.
 * @returns The provider; close it when done. Its `guestType` says what it found.
 * @throws {InvalidArgumentError} When an argument or the configuration is invalid.
 * @throws {NotFoundError} When no guest `vmid` (of kind `options.type`)
 * exists (on `nodeName`, or in the cluster), or the cluster has no node
 * `nodeName` (the message lists its nodes).
 * @throws {ConnectionError | TimeoutError | ApiError} When PVE cannot be asked.
 *
 * @example Wake a CT or a VM
 * ```ts ignore
 * import { newProxmoxProvider } from "@idlewatcher/provider/proxmox";
 *
 * using provider = await newProxmoxProvider("pve", 101, {
 *   config: { url: "https://pve.example:8006", tokenId: "idle@pve!watcher", secret: "..." },
 *   vmPause: "hibernate", // for a VM: pause saves it to disk
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
): Promise<ProxmoxProvider> {
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
      }: expected a host name label, or "" to find the guest's node`,
      { runtime: "proxmox", container: String(vmid) },
    );
  }
  if (options.type !== undefined && !GUEST_TYPES.includes(options.type)) {
    throw new InvalidArgumentError(
      `Invalid type ${
        JSON.stringify(options.type)
      }: expected "lxc", "qemu", or none to ask the cluster`,
      { runtime: "proxmox", container: String(vmid) },
    );
  }
  const vmPause = options.vmPause ?? "suspend";
  if (!VM_PAUSES.includes(vmPause)) {
    throw new InvalidArgumentError(
      `Invalid vmPause ${JSON.stringify(vmPause)}: expected "suspend" or "hibernate"`,
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
    const { node, type } = await locateGuest(core.transport, nodeName, vmid, options.type, signal);
    const guest = { node, vmid, type };
    let current: { name?: string } | null;
    try {
      current = await core.transport.request("GET", guestStatusPath(guest), {
        signal,
        context: {
          what: `read ${guestLabel(guest)} on node "${node}"`,
          action: "status",
          container: `${vmid}`,
        },
      }) as { name?: string } | null;
    } catch (error) {
      const unknown = error instanceof ApiError && error.status === 500
        ? await unknownNodeError(core.transport, guest, error, signal)
        : undefined;
      throw unknown ?? error;
    }
    const name = typeof current?.name === "string" && current.name
      ? current.name
      : type === "qemu"
      ? `VM ${vmid}`
      : `CT${vmid}`;
    return new GuestProvider({ client, owned, core, guest, vmPause, name, actionTimeout });
  } catch (error) {
    if (owned) client.close();
    throw error;
  }
}

interface ProviderParts {
  client: ProxmoxClient;
  owned: boolean;
  core: ClientCore;
  guest: { node: string; vmid: number; type: GuestType };
  vmPause: VmPause;
  name: string;
  actionTimeout: number;
}

/** What the provider asks of a guest's power state machine; a CT's and a VM's alike. */
type GuestPower = Pick<CtPower, "context" | "run" | "status">;

class GuestProvider implements ProxmoxProvider {
  readonly guestType: GuestType;
  #client: ProxmoxClient;
  #owned: boolean;
  #core: ClientCore;
  #location: GuestLocation;
  #power: GuestPower;
  #vmid: number;
  #vmPause: VmPause;
  #name: string;
  #actionTimeoutMs: number;
  #closing = new AbortController();

  constructor(parts: ProviderParts) {
    this.guestType = parts.guest.type;
    this.#client = parts.client;
    this.#owned = parts.owned;
    this.#core = parts.core;
    this.#location = new GuestLocation(parts.core.transport, parts.guest);
    this.#power = parts.guest.type === "qemu"
      ? new VmPower(parts.core.transport, this.#location)
      : new CtPower(parts.core.transport, this.#location);
    this.#vmid = parts.guest.vmid;
    this.#vmPause = parts.vmPause;
    this.#name = parts.name;
    this.#actionTimeoutMs = parts.actionTimeout * 1000;
  }

  containerStart(options?: CallOptions): Promise<void> {
    return this.#call(POWER.start, options);
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
        this.guestType === "qemu"
          ? `VM ${this.#vmid}: QEMU shutdown cannot send ${signal}; PVE asks the guest to power off`
          : `CT ${this.#vmid}: LXC shutdown cannot send ${signal}; PVE asks the CT's init to stop`,
        { container: `${this.#vmid}`, action: "stop" },
      );
    }
    return this.#call({
      ...POWER.stop,
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
        `${this.#location.label}: ${
          this.guestType === "qemu" ? "QEMU" : "LXC"
        } cannot be sent ${signal}; kill is PVE's immediate hard stop`,
        { container: `${this.#vmid}`, action: "kill" },
      );
    }
    return this.#call(POWER.kill, options);
  }

  containerPause(options?: CallOptions): Promise<void> {
    return this.#call(
      this.guestType === "qemu"
        ? { ...POWER.pause, params: VM_PAUSE_PARAMS[this.#vmPause] }
        : POWER.pause,
      options,
    );
  }

  containerUnpause(options?: CallOptions): Promise<void> {
    return this.#call(POWER.unpause, options);
  }

  /** A read, not an action: its deadline is the client's per-request timeout. */
  async containerStatus(options?: CallOptions): Promise<ContainerStatus> {
    try {
      return await this.#bounded(
        this.#core.transport.config.timeoutMs,
        this.#power.context("status"),
        options,
        (signal) => this.#location.following(signal, () => this.#power.status(signal)),
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
      { node: this.#location.node, vmid: this.#vmid, name: this.#name, type: this.guestType },
      signal,
    );
  }

  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(
      new ProviderError(
        `The provider of ${this.#location.label} is closed`,
        this.#errorOptions("close"),
      ),
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

  /**
   * Runs `body` under a deadline of `deadlineMs`, the caller's signal and the
   * provider's close, whichever ends first ({@linkcode withDeadline}). A
   * passed deadline becomes a {@linkcode TimeoutError}; an abort rejects with
   * its reason.
   */
  #bounded<T>(
    deadlineMs: number,
    context: RequestContext,
    options: CallOptions | undefined,
    body: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const closing = this.#closing.signal;
    return withDeadline({
      signal: options?.signal,
      closed: closing,
      ms: deadlineMs,
      onTimeout: () =>
        new TimeoutError(
          `${failurePrefix(context)}: not done within ${deadlineMs / 1000} s`,
          this.#errorOptions(context.action ?? ""),
        ),
      onClosed: () => closing.reason,
    }, body);
  }

  /** A power call, bounded, followed across a migration, its failure logged. */
  async #call(call: PowerCall, options: CallOptions | undefined): Promise<void> {
    try {
      await this.#bounded(
        call.deadlineMs ?? this.#actionTimeoutMs,
        this.#power.context(call.verb),
        options,
        (signal) => this.#location.following(signal, () => this.#power.run(call, signal)),
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
}
