/**
 * Runs commands in a private mount namespace (`unshare -m`, as root), where
 * an engine's socket can be mounted at a system path such as
 * `/var/run/docker.sock` without touching the machine's own.
 *
 * @module
 */

/**
 * Whether this process may run a command in a private mount namespace
 * (`unshare -m`, as root), where the engines' sockets can be mounted at the
 * usual system paths without touching the machine's own.
 */
export async function canUnshare(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  try {
    const { success } = await new Deno.Command("unshare", {
      args: ["-m", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * A wrapper that runs a command in a private mount namespace with an empty
 * `/run` holding only a link at `at` to `socket` (`/var/run` links to `/run`).
 */
export function withSocketAt(socket: string, at: string): string[] {
  const script = [
    "set -e",
    "mount -t tmpfs tmpfs /run",
    `mkdir -p "$(dirname '${at}')"`,
    // A link, not a bind mount: it still leads to the engine after a restart makes a new socket.
    `ln -s '${socket}' '${at}'`,
    'exec "$@"',
  ].join("; ");
  return ["unshare", "-m", "sh", "-c", script, "sh"];
}

/**
 * Tells whether the test can use a mount namespace. In CI (the `CI` variable
 * set) it must; elsewhere the test is skipped with a note on stderr.
 *
 * @param t The running test, named in the skip message.
 * @returns `true` when it can.
 * @throws {Error} In CI, when it cannot.
 */
export async function requireUnshare(t: Deno.TestContext): Promise<boolean> {
  if (await canUnshare()) return true;
  const message = `"${t.name}" needs root and \`unshare -m\` to mount sockets at system paths`;
  if (Deno.env.get("CI")) throw new Error(message);
  console.error(`SKIPPED: ${message}`);
  return false;
}
