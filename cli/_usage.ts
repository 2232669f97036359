/**
 * The CLI's usage line and help text.
 *
 * @module
 */

import { CONTAINER_SIGNALS } from "../mod.ts";

/** The signals with their `SIG` prefix, then the short names, as the help lists them. */
const SIGNALS_WITH_PREFIX = CONTAINER_SIGNALS.filter((s) => s.startsWith("SIG")).join(", ");
const SIGNALS_SHORT = CONTAINER_SIGNALS.filter((s) => s !== "" && !s.startsWith("SIG")).join(", ");

/** One line, printed under every usage error. */
export const USAGE =
  "usage: idlewatcher docker <container> <command> [flags] | idlewatcher proxmox <node>/<vmid> <command> [flags] (--help for more)";

/** The text of `--help`. */
export const HELP =
  `idlewatcher: status, start, stop, pause and watch one container on Docker, Podman or Proxmox VE

Usage:
  idlewatcher serve [flags]        run the idle-watching server (Sablier's API);
                                   "idlewatcher serve --help" lists its flags
  idlewatcher docker  <container>    <command> [flags]
  idlewatcher proxmox <node>/<vmid>  <command> [flags]

  On Proxmox, <vmid> is an LXC container (CT) or a QEMU virtual machine (VM): the cluster
  says which, and the output names it ("started VM pve/100"; --json adds "guest": "qemu").

Commands:
  status                           print the status: running, stopped, paused or error
  start                            start the container (already running is success)
  stop  [--signal S] [--timeout SECONDS]
                                   send S (default: the container's stop signal), wait up to
                                   SECONDS (default 10), then kill it
  kill  [--signal S]               send S (default SIGKILL; Proxmox: a hard stop)
  pause                            freeze the container (Proxmox: a VM frozen in memory,
                                   a CT's CRIU checkpoint)
  unpause                          thaw the container (or wake a hibernated VM)
  watch                            print lifecycle events until Ctrl-C or the container's
                                   removal; transient errors go to stderr, the watch keeps going
  wait  <status> [--timeout SECONDS]
                                   return when the container is <status> (running, stopped,
                                   paused or error); without --timeout, wait until Ctrl-C

  Signals: ${SIGNALS_WITH_PREFIX} (or ${SIGNALS_SHORT}).

Global flags:
  --json                           machine-readable output: one JSON object per line
  --verbose                        log every API call to stderr; print stacks with errors
  --help, -h                       show this help
  --version                        print the version

Docker flags (default: $DOCKER_HOST, else unix:///var/run/docker.sock):
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
