/**
 * The commands, each a few calls to the public {@linkcode Provider} API.
 *
 * @module
 */

import {
  type ContainerStatus,
  type Event,
  isRetriable,
  NotFoundError,
  type Provider,
  TimeoutError,
} from "../mod.ts";
import type { ProxmoxProvider } from "../proxmox/mod.ts";
import type { Invocation } from "./_args.ts";
import { ContainerRemovedError, ExitCode } from "./_errors.ts";
import { type Output, Progress } from "./_output.ts";
import { jsonLine, printable } from "./_text.ts";

/** What a command works with. */
export interface CommandContext {
  invocation: Invocation;
  provider: Provider;
  stdout: Output;
  stderr: Output;
  /** Aborts on Ctrl-C (watch and wait), the embedder's signal, or a closed stdout. */
  signal: AbortSignal;
}

/** How often `wait` re-reads the status even without events, in case one was missed. */
const WAIT_RECHECK_MS = 10_000;

const PROGRESSIVE = {
  start: "starting",
  stop: "stopping",
  kill: "killing",
  pause: "pausing",
  unpause: "unpausing",
} as const;

const PAST_TENSE = {
  start: "started",
  stop: "stopped",
  kill: "killed",
  pause: "paused",
  unpause: "unpaused",
} as const;

/**
 * Runs the command of `context.invocation`.
 *
 * @param context The invocation, the open provider, the outputs and the signal.
 * @returns The exit code.
 * @throws What the provider throws; the caller explains it.
 */
export async function runCommand(context: CommandContext): Promise<number> {
  const { invocation, provider, stdout, signal } = context;
  const { command, json } = invocation;
  const container = invocation.target.container;
  const guest = guestOf(provider);
  switch (command) {
    case "status": {
      const status = await provider.containerStatus({ signal });
      stdout.line(json ? jsonLine({ container, ...guest, status }) : status);
      return ExitCode.Ok;
    }
    case "watch":
      return await watch(context);
    case "wait":
      return await wait(context);
    case "kill": {
      // Killing a stopped container succeeds (nothing to do); say so.
      const before = await provider.containerStatus({ signal });
      await act(context, command);
      const wasRunning = before !== "stopped";
      stdout.line(
        json
          ? jsonLine({ container, ...guest, command, ok: true, wasRunning })
          : wasRunning
          ? `killed ${subject(container, guest)}`
          : `${subject(container, guest)} was not running`,
      );
      return ExitCode.Ok;
    }
    default:
      await act(context, command);
      stdout.line(
        json
          ? jsonLine({ container, ...guest, command, ok: true })
          : `${PAST_TENSE[command]} ${subject(container, guest)}`,
      );
      return ExitCode.Ok;
  }
}

/** A Proxmox guest's kind, as JSON output gives it: `{ guest: "qemu" }`; nothing for Docker. */
function guestOf(provider: Provider): { guest?: "lxc" | "qemu" } {
  const type = (provider as Partial<ProxmoxProvider>).guestType;
  return type === "lxc" || type === "qemu" ? { guest: type } : {};
}

/** The target as text output names it: a Proxmox guest with its kind, `VM pve/100`. */
function subject(container: string, { guest }: { guest?: "lxc" | "qemu" }): string {
  return guest === undefined ? container : `${guest === "qemu" ? "VM" : "CT"} ${container}`;
}

/** Runs a power command, with a progress line on a terminal. */
async function act(context: CommandContext, command: keyof typeof PAST_TENSE): Promise<void> {
  const { invocation, provider, signal } = context;
  const container = invocation.target.container;
  using _ = new Progress(context.stderr, (s) => `${PROGRESSIVE[command]} ${container}… ${s}s`);
  switch (command) {
    case "start":
      return await provider.containerStart({ signal });
    case "stop":
      return await provider.containerStop(invocation.signal, invocation.timeout ?? 0, { signal });
    case "kill":
      return await provider.containerKill(invocation.signal, { signal });
    case "pause":
      return await provider.containerPause({ signal });
    case "unpause":
      return await provider.containerUnpause({ signal });
  }
}

/**
 * Prints events until the signal aborts (exit 0) or the container is gone
 * (exit 3, like any command on a missing container).
 */
async function watch(context: CommandContext): Promise<number> {
  const { invocation, provider, stdout, stderr, signal } = context;
  const container = invocation.target.container;
  // Fails fast, with the right exit code, for a missing container or runtime.
  await provider.containerStatus({ signal });
  const { events, errors } = provider.watch({ signal });
  const errorReader = errors.getReader();
  const reportingErrors = (async () => {
    while (true) {
      const { done, value } = await errorReader.read();
      if (done) return;
      if (!signal.aborted && !(value instanceof NotFoundError)) {
        stderr.line(formatWatchError(value, invocation.json));
      }
    }
  })();
  try {
    for await (const event of events) {
      stdout.line(invocation.json ? eventJson(event) : eventText(event));
    }
  } finally {
    await errorReader.cancel();
    await reportingErrors;
  }
  // The events end when the container is destroyed: this read confirms it.
  try {
    await provider.containerStatus({ signal });
  } catch (error) {
    if (error instanceof NotFoundError) throw new ContainerRemovedError(container, error);
    throw error;
  }
  return ExitCode.Ok;
}

/**
 * Resolves once the container has the status asked for. Each event triggers a
 * re-read of the status (events say that something changed; the status says
 * what it is now), and so does a slow timer, in case an event was lost.
 */
async function wait(context: CommandContext): Promise<number> {
  const { invocation, provider, stdout, stderr, signal } = context;
  const goal = invocation.status as ContainerStatus;
  const container = invocation.target.container;
  const stop = new AbortController();
  const deadline = invocation.timeout === undefined
    ? undefined
    : AbortSignal.timeout(invocation.timeout * 1000);
  const waitSignal = AbortSignal.any([signal, stop.signal, ...(deadline ? [deadline] : [])]);
  const reached = Promise.withResolvers<void>();
  let current: ContainerStatus | undefined;

  const onDeadline = () =>
    reached.reject(
      new TimeoutError(
        `Container "${container}" did not become ${goal} within ${invocation.timeout} s` +
          (current === undefined ? "" : ` (it is ${current})`),
        { action: "wait", container },
      ),
    );
  const onAbort = () => reached.reject(signal.reason);
  deadline?.addEventListener("abort", onDeadline, { once: true });
  signal.addEventListener("abort", onAbort, { once: true });

  // One status read at a time; a trigger during a read asks for one more after it.
  let reading: Promise<void> | undefined;
  let readAgain = false;
  const read = async (first: boolean): Promise<void> => {
    try {
      do {
        readAgain = false;
        current = await provider.containerStatus({ signal: waitSignal });
        if (current === goal) reached.resolve();
      } while (readAgain);
    } catch (error) {
      if (waitSignal.aborted) return;
      // A lost connection heals; a missing container or a refusal does not.
      if (!first && error instanceof NotFoundError) {
        reached.reject(new ContainerRemovedError(container, error));
      } else if (first || !isRetriable(error)) reached.reject(error);
      else stderr.line(formatWatchError(error, invocation.json));
    }
  };
  const check = (first = false): void => {
    if (reading !== undefined) {
      readAgain = true;
      return;
    }
    reading = read(first).finally(() => reading = undefined);
  };

  const { events, errors } = provider.watch({ signal: waitSignal });
  const following = (async () => {
    for await (const _ of events) check();
    // The stream ends when the container is destroyed: the next read says so.
    if (!waitSignal.aborted) check();
  })().catch(() => {});
  const reportingErrors = (async () => {
    for await (const error of errors) {
      if (waitSignal.aborted) continue;
      // A vanished container: the status read reports it.
      if (error instanceof NotFoundError) check();
      else stderr.line(formatWatchError(error, invocation.json));
    }
  })().catch(() => {});
  const timer = setInterval(check, WAIT_RECHECK_MS);

  try {
    using _ = new Progress(
      stderr,
      (s) => `waiting for ${container} to be ${goal} (now ${current ?? "unknown"})… ${s}s`,
    );
    check(true);
    await reached.promise;
  } finally {
    clearInterval(timer);
    deadline?.removeEventListener("abort", onDeadline);
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    await Promise.all([following, reportingErrors, reading]);
  }
  stdout.line(
    invocation.json ? jsonLine({ container, ...guestOf(provider), status: goal }) : goal,
  );
  return ExitCode.Ok;
}

function eventText(event: Event): string {
  const name = event.actorName || event.actorId;
  const { signal, exitCode } = event.actorAttributes;
  const details = [
    signal === undefined || signal === "" ? undefined : `signal ${signal}`,
    exitCode === undefined || exitCode === "" ? undefined : `exit code ${exitCode}`,
  ].filter((detail) => detail !== undefined);
  const suffix = details.length === 0 ? "" : ` (${details.join(", ")})`;
  // Names, actions and attributes are the runtime's words: escaped, so none reaches the terminal raw.
  return printable(`${event.time.toISOString()} ${event.action} ${name}${suffix}`);
}

function eventJson(event: Event): string {
  return jsonLine({
    time: event.time.toISOString(),
    type: event.type,
    action: event.action,
    actorId: event.actorId,
    actorName: event.actorName,
    actorAttributes: event.actorAttributes,
  });
}

function formatWatchError(error: unknown, json: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  if (json) {
    return jsonLine({
      time: new Date().toISOString(),
      error: message,
      kind: error instanceof Error ? error.name : typeof error,
    });
  }
  return `idlewatcher: watch: ${printable(message.replace(/\s*\n\s*/g, " "))}`;
}
