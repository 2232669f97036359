#!/usr/bin/env bash
# Starts, stops and describes the container engines the integration tests run against:
# Debian's dockerd (docker.io, API 1.41) and Podman's Docker-compatible service, both as root,
# on private sockets with private storage, so the machine's own engines are left alone.
#
# Usage: bash scripts/engines.sh start|stop [docker|podman]|status|env
#
#   start   installs docker.io, podman and busybox-static with apt-get when missing, starts both
#           engines (no-op for one already up), imports the test image and runs a container in each
#   stop    stops running containers and both engines (or the one named); keeps their storage
#   status  prints what is up; exits 3 when an engine is down
#   env     prints `export NAME=value` lines for the tests (also written to $DIR/env):
#           eval "$(bash scripts/engines.sh env)"
#
# Settings (environment):
#   IDLEWATCHER_ENGINES_DIR      state folder (sockets, storage, logs)   default /tmp/idlewatcher-engines
#   IDLEWATCHER_DOCKER_TLS_PORT  dockerd's TLS listener on 127.0.0.1     default 23760
#   IDLEWATCHER_ENGINES_TIMEOUT  seconds to wait for an engine to answer default 60
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${IDLEWATCHER_ENGINES_DIR:-/tmp/idlewatcher-engines}"
tls_port="${IDLEWATCHER_DOCKER_TLS_PORT:-23760}"
wait_seconds="${IDLEWATCHER_ENGINES_TIMEOUT:-60}"
tls_dir="$repo_root/tests/fixtures/docker-tls"
image="idlewatcher-busybox:latest"

docker_sock="$dir/docker.sock"
docker_pidfile="$dir/docker.pid"
docker_log="$dir/dockerd.log"
podman_sock="$dir/podman.sock"
podman_pidfile="$dir/podman.pid"
podman_log="$dir/podman.log"

# Every podman command (service and CLI) must use the same private storage and state.
podman_opts=(
  --root "$dir/podman-root"
  --runroot "$dir/podman-run"
  --tmpdir "$dir/podman-tmp"
  --volumepath "$dir/podman-root/volumes"
  --network-config-dir "$dir/podman-net"
  --cgroup-manager cgroupfs
  --events-backend file
)

log() { printf 'engines: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

check_settings() {
  # Socket paths must stay short (sun_path is 108 bytes) and need no quoting in the env file.
  [[ "$dir" =~ ^/[A-Za-z0-9_./-]+$ ]] ||
    die "IDLEWATCHER_ENGINES_DIR must be an absolute path of [A-Za-z0-9_./-], got '$dir'"
  ((${#dir} <= 80)) || die "IDLEWATCHER_ENGINES_DIR is too long for unix sockets (max 80 characters)"
  [[ "$tls_port" =~ ^[0-9]+$ ]] || die "IDLEWATCHER_DOCKER_TLS_PORT must be a number, got '$tls_port'"
  [[ "$wait_seconds" =~ ^[0-9]+$ ]] ||
    die "IDLEWATCHER_ENGINES_TIMEOUT must be a number, got '$wait_seconds'"
}

require_root() {
  ((EUID == 0)) || die "run as root: the engines run rootful on private sockets"
}

# The Debian client speaks the daemon's API version natively; any client negotiates down to 1.41.
docker_cli() {
  local bin=docker
  [[ -x /usr/bin/docker ]] && bin=/usr/bin/docker
  "$bin" -H "unix://$docker_sock" "$@"
}

podman_cli() {
  TMPDIR="$dir/tmp" podman "${podman_opts[@]}" "$@"
}

busybox_path() {
  local candidate
  for candidate in /bin/busybox /usr/bin/busybox; do
    # busybox-static's binary has no dynamic loader, so it runs inside an empty image.
    if [[ -x "$candidate" ]] && ! ldd "$candidate" >/dev/null 2>&1; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done
  return 1
}

install_packages() {
  if command -v dockerd >/dev/null && command -v podman >/dev/null && busybox_path >/dev/null &&
    command -v curl >/dev/null && command -v pgrep >/dev/null; then
    return 0
  fi
  command -v apt-get >/dev/null ||
    die "docker.io, podman, busybox-static, curl and procps are needed and apt-get is missing"
  log "installing docker.io podman busybox-static curl procps"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update </dev/null
  apt-get install -y docker.io podman busybox-static curl procps </dev/null
  command -v dockerd >/dev/null || die "dockerd is still missing after installing docker.io"
  command -v podman >/dev/null || die "podman is still missing after installing podman"
  busybox_path >/dev/null || die "a static busybox is still missing after installing busybox-static"
}

ping() {
  curl --silent --fail --max-time 2 --unix-socket "$1" http://engine/_ping 2>/dev/null | grep -qx OK
}

# pid_alive PIDFILE: the pid file names a live dockerd or podman (not a recycled pid).
pid_alive() {
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(<"$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    grep -qxE 'dockerd|podman' "/proc/$pid/comm" 2>/dev/null
}

# wait_ready NAME SOCKET PIDFILE LOG
wait_ready() {
  local name="$1" sock="$2" pidfile="$3" logfile="$4" deadline=$((SECONDS + wait_seconds))
  until ping "$sock"; do
    if ! pid_alive "$pidfile"; then
      log "$name exited before answering on $sock; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "$name did not answer /_ping on $sock within ${wait_seconds}s; last lines of $logfile:"
      tail -n 40 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

start_docker() {
  if pid_alive "$docker_pidfile" && ping "$docker_sock"; then
    log "docker already up (pid $(<"$docker_pidfile"))"
    return 0
  fi
  pid_alive "$docker_pidfile" && die "dockerd (pid $(<"$docker_pidfile")) runs but does not answer; run: bash scripts/engines.sh stop"
  local file
  for file in ca.pem server-cert.pem server-key.pem; do
    [[ -r "$tls_dir/$file" ]] || die "missing $tls_dir/$file (re-create with bash tests/fixtures/docker-tls/generate.sh)"
  done
  rm -f "$docker_sock" "$docker_pidfile"
  # An empty config file keeps /etc/docker/daemon.json out; a private containerd namespace keeps
  # a system containerd (if dockerd finds one) from mixing these containers with the machine's.
  printf '{}\n' >"$dir/daemon.json"
  log "starting dockerd on unix://$docker_sock and tcp://127.0.0.1:$tls_port (TLS)"
  setsid dockerd \
    --config-file "$dir/daemon.json" \
    --host "unix://$docker_sock" \
    --host "tcp://127.0.0.1:$tls_port" \
    --tlsverify \
    --tlscacert "$tls_dir/ca.pem" \
    --tlscert "$tls_dir/server-cert.pem" \
    --tlskey "$tls_dir/server-key.pem" \
    --data-root "$dir/docker-root" \
    --exec-root "$dir/docker-exec" \
    --pidfile "$docker_pidfile" \
    --containerd-namespace idlewatcher \
    --containerd-plugins-namespace idlewatcher-plugins \
    --iptables=false \
    --ip-masq=false \
    --bridge=none \
    >>"$docker_log" 2>&1 </dev/null &
  # dockerd writes its pid file itself once it is set up; until then, track the launched process.
  local launched=$!
  local deadline=$((SECONDS + wait_seconds))
  until [[ -s "$docker_pidfile" ]]; do
    if ! kill -0 "$launched" 2>/dev/null || ((SECONDS >= deadline)); then
      log "dockerd did not come up; last lines of $docker_log:"
      tail -n 40 "$docker_log" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  wait_ready dockerd "$docker_sock" "$docker_pidfile" "$docker_log"
}

start_podman() {
  if pid_alive "$podman_pidfile" && ping "$podman_sock"; then
    log "podman already up (pid $(<"$podman_pidfile"))"
    return 0
  fi
  pid_alive "$podman_pidfile" && die "podman service (pid $(<"$podman_pidfile")) runs but does not answer; run: bash scripts/engines.sh stop"
  rm -f "$podman_sock" "$podman_pidfile"
  mkdir -p "$dir/tmp"
  log "starting podman system service on unix://$podman_sock"
  # setsid does not fork here (a background job is no group leader), so $! is the service's pid.
  TMPDIR="$dir/tmp" setsid podman "${podman_opts[@]}" system service --time=0 "unix://$podman_sock" \
    >>"$podman_log" 2>&1 </dev/null &
  echo "$!" >"$podman_pidfile"
  wait_ready "podman service" "$podman_sock" "$podman_pidfile" "$podman_log"
}

build_rootfs() {
  local rootfs="$dir/busybox-rootfs" busybox applet
  busybox="$(busybox_path)" || die "no static busybox found (apt-get install busybox-static)"
  rm -rf "$rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev"
  cp "$busybox" "$rootfs/bin/busybox"
  for applet in sh sleep kill cat echo true false ls ps env date; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  printf '%s\n' "$rootfs"
}

import_image() {
  local rootfs
  if docker_cli image inspect "$image" >/dev/null 2>&1 &&
    podman_cli image exists "$image" 2>/dev/null; then
    return 0
  fi
  rootfs="$(build_rootfs)"
  if ! docker_cli image inspect "$image" >/dev/null 2>&1; then
    log "importing $image into docker"
    tar -C "$rootfs" -c . | docker_cli import --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
  fi
  if ! podman_cli image exists "$image" 2>/dev/null; then
    log "importing $image into podman"
    tar -C "$rootfs" -c . | podman_cli import --quiet --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
  fi
  rm -rf "$rootfs"
}

verify_containers() {
  local out
  out="$(docker_cli run --rm --network none "$image" /bin/sh -c 'echo ok' 2>&1)" ||
    die "docker cannot run a container: $out"
  [[ "$out" == ok ]] || die "docker container printed '$out' instead of 'ok'"
  out="$(podman_cli run --rm --network none \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$image" /bin/sh -c 'echo ok' 2>&1)" ||
    die "podman cannot run a container: $out"
  [[ "$out" == ok ]] || die "podman container printed '$out' instead of 'ok'"
}

write_env() {
  {
    printf 'export IDLEWATCHER_DOCKER_SOCK=%s\n' "$docker_sock"
    printf 'export IDLEWATCHER_PODMAN_SOCK=%s\n' "$podman_sock"
    printf 'export IDLEWATCHER_DOCKER_TLS_HOST=%s\n' "tcp://127.0.0.1:$tls_port"
    printf 'export IDLEWATCHER_DOCKER_TLS_CERTS=%s\n' "$tls_dir"
    printf 'export IDLEWATCHER_TEST_IMAGE=%s\n' "$image"
  } >"$dir/env.tmp"
  mv "$dir/env.tmp" "$dir/env"
}

cmd_start() {
  require_root
  install_packages
  mkdir -p "$dir"
  local began=$EPOCHREALTIME
  start_docker
  start_podman
  import_image
  verify_containers
  write_env
  log "engines up in $(awk -v a="$began" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s; env in $dir/env"
}

# stop_pid NAME PIDFILE: SIGTERM, then SIGKILL after the wait.
stop_pid() {
  local name="$1" pidfile="$2" pid deadline=$((SECONDS + wait_seconds))
  pid_alive "$pidfile" || {
    rm -f "$pidfile"
    return 0
  }
  pid="$(<"$pidfile")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "$name ignored SIGTERM for ${wait_seconds}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pidfile"
}

# Processes that outlived a crashed engine: docker's containers (found in its private runc state),
# then shims, conmons and a managed containerd, which name this state folder on their command line.
# Kills what a dead engine left behind: leftover runc containers (docker) and container processes
# under the engine's folders. $1: docker or podman.
kill_leftovers() {
  local engine="$1" runc_root="$dir/docker-exec/runtime-runc/idlewatcher" id pids pattern
  if [[ "$engine" == docker && -d "$runc_root" ]]; then
    for id in $(runc --root "$runc_root" list --quiet 2>/dev/null || true); do
      log "removing leftover docker container $id"
      runc --root "$runc_root" delete --force "$id" 2>/dev/null || true
    done
  fi
  if [[ "$engine" == docker ]]; then
    pattern="$dir/(docker-exec|docker-root)/"
  else
    pattern="$dir/(podman-run|podman-root|podman-tmp)/"
  fi
  pids="$(pgrep -f -- "$pattern" || true)"
  if [[ -n "$pids" ]]; then
    log "killing leftover $engine container processes: ${pids//$'\n'/ }"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
  fi
}

# dockerd makes its data root a private mount; one that died uncleanly leaves it behind.
# $1: the engine whose folders to unmount (docker or podman).
unmount_leftovers() {
  local mountpoint
  # Field 5 of mountinfo is the mount point; unmount the deepest first.
  awk -v prefix="$dir/$1-" 'index($5, prefix) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mountpoint; do
      umount "$mountpoint" 2>/dev/null || umount --lazy "$mountpoint" || true
    done
}

stop_docker() {
  if pid_alive "$docker_pidfile" && ping "$docker_sock"; then
    local ids
    ids="$(docker_cli ps --quiet --no-trunc 2>/dev/null || true)"
    # shellcheck disable=SC2086
    [[ -z "$ids" ]] || docker_cli kill $ids >/dev/null 2>&1 || true
  fi
  stop_pid dockerd "$docker_pidfile"
  kill_leftovers docker
  unmount_leftovers docker
  rm -f "$docker_sock"
}

stop_podman() {
  if [[ -d "$dir/podman-root" ]]; then
    # Podman's containers live on under conmon without the service, so stop them directly.
    local paused
    paused="$(podman_cli ps --quiet --filter status=paused 2>/dev/null || true)"
    # shellcheck disable=SC2086
    [[ -z "$paused" ]] || podman_cli unpause $paused >/dev/null 2>&1 || true
    podman_cli stop --all --time 0 >/dev/null 2>&1 || true
  fi
  stop_pid "podman service" "$podman_pidfile"
  kill_leftovers podman
  unmount_leftovers podman
  rm -f "$podman_sock"
}

cmd_stop() {
  require_root
  case "${1:-both}" in
  docker) stop_docker ;;
  podman) stop_podman ;;
  both)
    stop_docker
    stop_podman
    ;;
  *) die "stop takes docker, podman or nothing (both), got '$1'" ;;
  esac
}

cmd_status() {
  local down=0
  if pid_alive "$docker_pidfile" && ping "$docker_sock"; then
    echo "docker: up (pid $(<"$docker_pidfile")) unix://$docker_sock tcp://127.0.0.1:$tls_port"
  else
    echo "docker: down"
    down=1
  fi
  if pid_alive "$podman_pidfile" && ping "$podman_sock"; then
    echo "podman: up (pid $(<"$podman_pidfile")) unix://$podman_sock"
  else
    echo "podman: down"
    down=1
  fi
  ((down == 0)) || exit 3
}

cmd_env() {
  mkdir -p "$dir"
  write_env
  cat "$dir/env"
}

check_settings
case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop "${2:-both}" ;;
status) cmd_status ;;
env) cmd_env ;;
*)
  echo "usage: bash scripts/engines.sh start|stop [docker|podman]|status|env" >&2
  exit 2
  ;;
esac
