# Sourced by .ci/run: starts the container engines for a CI run and, on exit, stops only the
# ones this run started, so that engines already up before it (a developer's, or another
# run's) keep running.
#
#   ci_engines_start   notes which engines are up, then starts the others (scripts/engines.sh start)
#   ci_engines_stop    stops the engines ci_engines_start started, and only those
#
# IDLEWATCHER_ENGINES_SCRIPT names the engines script (default scripts/engines.sh).

ci_engines_script="${IDLEWATCHER_ENGINES_SCRIPT:-scripts/engines.sh}"
ci_engines_started=()

ci_engines_start() {
  local status engine
  # `status` prints "docker: up ..." or "docker: down" per engine (and exits 3 if one is down).
  status="$(bash "$ci_engines_script" status 2>/dev/null || true)"
  ci_engines_started=()
  for engine in docker podman; do
    if ! grep -q "^$engine: up" <<<"$status"; then ci_engines_started+=("$engine"); fi
  done
  if ((${#ci_engines_started[@]} < 2)); then
    echo "already up, left running on exit: $(grep ': up' <<<"$status" | cut -d: -f1 | xargs)"
  fi
  bash "$ci_engines_script" start </dev/null
}

ci_engines_stop() {
  local engine
  if ((${#ci_engines_started[@]} == 0)); then
    echo "no engine started by this run; leaving them up"
    return 0
  fi
  for engine in "${ci_engines_started[@]}"; do
    bash "$ci_engines_script" stop "$engine" || true
  done
}
