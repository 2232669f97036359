#!/bin/sh
# Runs the idlewatcher CLI (cli.ts) with Deno permissions cut to what this command line needs:
# `deno task cli <args>` runs this script. Deno grants exact paths and a task cannot compute
# them, so this script does, from the arguments and the environment, then execs `deno run`:
#
#   read + write  the usual engine sockets: /var/run/docker.sock, /run/docker.sock,
#                 /run/podman/podman.sock, $XDG_RUNTIME_DIR/docker.sock and
#                 $XDG_RUNTIME_DIR/podman/podman.sock; the socket of --socket, --host unix://...,
#                 DOCKER_HOST=unix://... or the current docker context
#   read          the TLS files of --tls-ca/--tls-cert/--tls-key or DOCKER_CERT_PATH (with
#                 DOCKER_TLS_VERIFY), --ca-file or PROXMOX_CA_FILE, and the docker CLI's
#                 config.json and context store (DOCKER_CONFIG, default ~/.docker)
#   (serve)       also read + write its --state-dir (default $XDG_STATE_HOME/idlewatcher, else
#                 ~/.local/state/idlewatcher), read its --themes-dir, and the --docker sockets
#   net           any host (hosts come from --host, --url and the environment)
#   env           the variables the CLI reads (listed below)
#
# Nothing else: no other file, no subprocess. Paths with a comma cannot be granted this way.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
# `deno task` runs in the project's folder; relative paths on the command line are the user's.
if [ -n "${INIT_CWD:-}" ]; then cd "$INIT_CWD"; fi

sockets="/var/run/docker.sock,/run/docker.sock,/run/podman/podman.sock"
files=""
folders=""

absolute() { # prints $1 as an absolute path
  case "$1" in
  /*) printf '%s' "$1" ;;
  *) printf '%s/%s' "$(pwd)" "$1" ;;
  esac
}
add_socket() {
  case "$1" in *,*) return ;; "") return ;; esac
  sockets="$sockets,$(absolute "$1")"
}
add_file() {
  case "$1" in *,*) return ;; "") return ;; esac
  files="${files:+$files,}$(absolute "$1")"
}
add_folder() { # read + write
  case "$1" in *,*) return ;; "") return ;; esac
  folders="${folders:+$folders,}$(absolute "$1")"
}
add_host() { # a unix:// host names a socket; other hosts need only --allow-net
  case "$1" in unix://*) add_socket "${1#unix://}" ;; esac
}

if [ -n "${XDG_RUNTIME_DIR:-}" ]; then
  add_socket "$XDG_RUNTIME_DIR/docker.sock"
  add_socket "$XDG_RUNTIME_DIR/podman/podman.sock"
fi

host_flag=""
state_dir=""
previous=""
for arg in "$@"; do
  case "$previous" in
  --socket) add_socket "$arg" ;;
  --host | --docker) add_host "$arg" && host_flag=1 ;;
  --tls-ca | --tls-cert | --tls-key | --ca-file | --themes-dir) add_file "$arg" ;;
  --state-dir) state_dir="$arg" ;;
  esac
  previous=""
  case "$arg" in
  --) break ;;
  --socket=*) add_socket "${arg#--socket=}" ;;
  --host=* | --docker=*) add_host "${arg#*=}" && host_flag=1 ;;
  --tls-ca=* | --tls-cert=* | --tls-key=* | --ca-file=* | --themes-dir=*) add_file "${arg#*=}" ;;
  --state-dir=*) state_dir="${arg#--state-dir=}" ;;
  --socket | --host | --docker | --tls-ca | --tls-cert | --tls-key | --ca-file | --themes-dir | --state-dir)
    previous="$arg"
    ;;
  esac
done
if [ "${1:-}" = serve ]; then
  if [ -z "$state_dir" ]; then
    if [ -n "${XDG_STATE_HOME:-}" ]; then
      state_dir="$XDG_STATE_HOME/idlewatcher"
    elif [ -n "${HOME:-}" ]; then
      state_dir="$HOME/.local/state/idlewatcher"
    fi
  fi
  add_folder "$state_dir"
fi

add_host "${DOCKER_HOST:-}"
add_file "${PROXMOX_CA_FILE:-}"
docker_config="${DOCKER_CONFIG:-${HOME:-/nonexistent}/.docker}"
if [ -n "${DOCKER_TLS_VERIFY:-}" ]; then
  cert_path="${DOCKER_CERT_PATH:-${HOME:-/nonexistent}/.docker}"
  for name in ca.pem cert.pem key.pem; do add_file "$cert_path/$name"; done
fi
add_file "$docker_config/config.json"
add_file "$docker_config/contexts"
# The socket of the current docker context, found the way the docker CLI finds it.
if [ -z "${DOCKER_HOST:-}" ] && [ -z "$host_flag" ]; then
  context="${DOCKER_CONTEXT:-}"
  if [ -z "$context" ] && [ -r "$docker_config/config.json" ]; then
    context=$(sed -n 's/.*"currentContext"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
      "$docker_config/config.json" | head -n 1)
  fi
  if [ -n "$context" ] && [ "$context" != default ] && command -v sha256sum >/dev/null; then
    digest=$(printf '%s' "$context" | sha256sum | cut -d ' ' -f 1)
    meta="$docker_config/contexts/meta/$digest/meta.json"
    if [ -r "$meta" ]; then
      add_host "$(sed -n 's/.*"Host"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$meta" | head -n 1)"
    fi
  fi
fi

env_names="DOCKER_HOST,DOCKER_TLS_VERIFY,DOCKER_CERT_PATH,DOCKER_CONTEXT,DOCKER_CONFIG,HOME"
env_names="$env_names,PROXMOX_URL,PROXMOX_TOKEN_ID,PROXMOX_SECRET,PROXMOX_USERNAME"
env_names="$env_names,PROXMOX_PASSWORD,PROXMOX_REALM,PROXMOX_CA_FILE,XDG_STATE_HOME"

exec deno run \
  "--allow-read=$sockets${files:+,$files}${folders:+,$folders}" \
  "--allow-write=$sockets${folders:+,$folders}" \
  --allow-net \
  "--allow-env=$env_names" \
  "$repo/cli.ts" "$@"
