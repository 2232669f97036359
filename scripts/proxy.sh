#!/usr/bin/env bash
# Installs the reverse proxy the end-to-end tests put in front of `idlewatcher serve`: Debian's
# nginx with its njs module (libnginx-mod-http-js), which runs integrations/nginx/idlewatcher.js.
# The tests start their own nginx (own -c config and -p prefix in a temporary folder, free
# loopback ports); the system's nginx service is never started or changed by the tests.
#
# Usage: bash scripts/proxy.sh install|status|env
#
#   install  installs nginx and libnginx-mod-http-js with apt-get when missing
#            (runs apt-get update first when apt-cache knows neither package); needs root
#   status   prints the nginx binary, its version and the njs module; exits 3 when one is missing
#   env      prints `export NAME=value` lines the tests read:
#            eval "$(bash scripts/proxy.sh env)"
set -euo pipefail

nginx_bin="${IDLEWATCHER_NGINX:-/usr/sbin/nginx}"
njs_module="${IDLEWATCHER_NGINX_JS_MODULE:-/usr/lib/nginx/modules/ngx_http_js_module.so}"

log() { printf 'proxy: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

present() { [[ -x "$nginx_bin" && -f "$njs_module" ]]; }

install() {
  if present; then
    log "nginx and its njs module are installed"
    return 0
  fi
  ((EUID == 0)) || die "installing nginx needs root (apt-get install nginx libnginx-mod-http-js)"
  command -v apt-get >/dev/null || die "apt-get is missing: install nginx and libnginx-mod-http-js by hand"
  if ! apt-cache show nginx libnginx-mod-http-js >/dev/null 2>&1; then
    log "apt-cache knows no nginx package: apt-get update"
    apt-get update -q >/dev/null
  fi
  log "apt-get install nginx libnginx-mod-http-js"
  # The package's postinst starts the system service on port 80 when it can; stop only
  # that service, and only if the install started it.
  local was_running=0
  pgrep -x nginx >/dev/null && was_running=1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    nginx libnginx-mod-http-js >/dev/null
  if ((was_running == 0)) && [[ -f /run/nginx.pid ]]; then
    "$nginx_bin" -s quit >/dev/null 2>&1 || true
  fi
  present || die "nginx or $njs_module still missing after apt-get install"
  log "installed $("$nginx_bin" -v 2>&1)"
}

status() {
  if ! present; then
    log "missing: ${nginx_bin} or ${njs_module} (bash scripts/proxy.sh install)"
    return 3
  fi
  log "$("$nginx_bin" -v 2>&1), njs module ${njs_module}"
}

env_lines() {
  printf 'export IDLEWATCHER_NGINX=%q\n' "$nginx_bin"
  printf 'export IDLEWATCHER_NGINX_JS_MODULE=%q\n' "$njs_module"
}

case "${1:-}" in
install) install ;;
status) status ;;
env) env_lines ;;
*)
  echo "usage: bash scripts/proxy.sh install|status|env" >&2
  exit 2
  ;;
esac
