/**
 * The CLI's usage line and help text.
 *
 * @module
 */

import { CONTAINER_SIGNALS } from "../mod.ts";
import type { CommandName } from "./_args.ts";
import { SERVE_HELP } from "./_serve.ts";

/** The signals with their `SIG` prefix, as the help lists them. */
const SIGNALS_WITH_PREFIX = CONTAINER_SIGNALS.filter((s) => s.startsWith("SIG")).join(", ");

/** One line, printed under every usage error. */
export const USAGE =
  "usage: idlewatcher docker <container> <command> [flags] | idlewatcher proxmox [<node>/]<vmid> <command> [flags] (idlewatcher help for more)";

/** The text of `--help`. */
export const HELP =
  `idlewatcher: status, start, stop, pause and watch one container on Docker, Podman or Proxmox VE

Usage:
  idlewatcher docker  <container>       <command> [flags]
  idlewatcher proxmox [<node>/]<vmid>   <command> [flags]   (without the node, it is looked up)
  idlewatcher serve [flags]             run the idle-watching server (Sablier's API)
  idlewatcher help [<command>]          this help, or one command's, serve's included
                                        (also: <command> --help, serve --help)

  On Proxmox, <vmid> is an LXC container (CT) or a QEMU virtual machine (VM): the cluster
  says which, and the output names it ("started VM pve/100"; --json adds "guest": "qemu").

Commands:
  status                           print the status: running, stopped, paused or error
  start                            start the container (already running is success)
  stop  [-s S] [-t SECONDS]
                                   send S (default: the container's stop signal), wait up to
                                   SECONDS (default 10), then kill it
  kill  [-s S]                     send S (default SIGKILL; Proxmox: a hard stop); a stopped
                                   container is left as it is, and the CLI says so
  pause                            freeze the container (Proxmox: a VM frozen in memory,
                                   a CT's CRIU checkpoint)
  unpause                          thaw the container (or wake a hibernated VM)
  watch                            print lifecycle events until Ctrl-C or the container's
                                   removal; transient errors go to stderr, the watch keeps going
  wait  <status> [-t SECONDS]
                                   return when the container is <status> (running, stopped,
                                   paused or error); without --timeout, wait until Ctrl-C

  -s, --signal S                   ${SIGNALS_WITH_PREFIX}, in any case,
                                   with or without SIG, or as a number (2, 15, 9, 3, 1)
  -t, --timeout SECONDS            as above

Global flags:
  --json                           machine-readable output: one JSON object per line
  --verbose                        log every API call to stderr; print stacks with errors
  --help, -h                       show this help (after a command: that command's help)
  --version                        print the version

Docker flags (default: $DOCKER_HOST, else the current docker context, else
unix:///var/run/docker.sock):
  --host URL                       unix:///path, tcp://host:port, http://... or https://...
  --socket PATH                    the engine's unix socket, such as /run/podman/podman.sock
  --tls-ca FILE                    CA of the engine's certificate (tcp:// turns to TLS)
  --tls-cert FILE, --tls-key FILE  client certificate and key
  With DOCKER_TLS_VERIFY set, a tcp:// host uses TLS with ca.pem, cert.pem and key.pem
  from DOCKER_CERT_PATH (default ~/.docker).

Proxmox flags (each defaults to the variable in brackets):
  --url URL                        https://pve.example.com:8006          [PROXMOX_URL]
  --token-id ID                    API token, such as root@pam!idle      [PROXMOX_TOKEN_ID]
  --secret SECRET                  the token's secret (prefer the env)   [PROXMOX_SECRET]
  --username USER                  ticket login instead of a token       [PROXMOX_USERNAME]
  --password PASSWORD              (prefer the env)                      [PROXMOX_PASSWORD]
  --realm REALM                    default pam                           [PROXMOX_REALM]
  --ca-file FILE                   CA of the node's certificate          [PROXMOX_CA_FILE]

Exit codes: 0 success, 1 operation failed, 2 usage error, 3 not found, 4 cannot connect
(or a missing --allow-* permission), 124 timeout, 130 wait interrupted.
`;

/** Each command's own help: `idlewatcher help <command>` or `<command> --help`. */
const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  status: `usage: idlewatcher <runtime> <container> status [--json]

Prints the container's status: running, stopped, paused or error.
`,
  start: `usage: idlewatcher <runtime> <container> start [--json]

Starts the container (unpauses it when paused). Already running is success.
`,
  stop: `usage: idlewatcher <runtime> <container> stop [-s SIGNAL] [-t SECONDS] [--json]

Sends SIGNAL (default: the container's stop signal), waits up to SECONDS (default 10),
then kills it. Proxmox: a shutdown that turns into a hard stop after SECONDS.
  -s, --signal SIGNAL    SIGTERM, sigterm, TERM or 15 (also INT, KILL, QUIT, HUP)
  -t, --timeout SECONDS  whole seconds, such as 30
`,
  kill: `usage: idlewatcher <runtime> <container> kill [-s SIGNAL] [--json]

Sends SIGNAL (default SIGKILL). Proxmox: an immediate hard stop. A stopped container is
left as it is: the command succeeds and prints "<container> was not running".
  -s, --signal SIGNAL    SIGKILL, sigkill, KILL or 9 (also INT, TERM, QUIT, HUP)
`,
  pause: `usage: idlewatcher <runtime> <container> pause [--json]

Freezes the container. Proxmox: suspend (CRIU, experimental in PVE).
`,
  unpause: `usage: idlewatcher <runtime> <container> unpause [--json]

Thaws the container. Proxmox: resume.
`,
  watch: `usage: idlewatcher <runtime> <container> watch [--json]

Prints one line per lifecycle event (with the signal or exit code when there is one) until
Ctrl-C (exit 0) or the container's removal (exit 3). Transient errors go to stderr; the
watch keeps going.
`,
  wait: `usage: idlewatcher <runtime> <container> wait <status> [-t SECONDS] [--json]

Returns once the container is <status>: running, stopped, paused or error. Without
--timeout it waits until Ctrl-C (exit 130); after SECONDS it gives up (exit 124). A
container removed meanwhile ends it with exit 3.
  -t, --timeout SECONDS  such as 30 or 2.5
`,
};

/**
 * The help of one command.
 *
 * @param command The command, or `serve`.
 * @returns Its usage line and what it does.
 */
export function commandHelp(command: CommandName | "serve"): string {
  return command === "serve" ? SERVE_HELP : COMMAND_HELP[command];
}
