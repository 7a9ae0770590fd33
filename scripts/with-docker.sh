#!/usr/bin/env bash
# Run a command with a Docker daemon: if none answers `docker info`, start dockerd (as root,
# log in .artifacts/dockerd.log), wait until it answers, and stop it again when the command
# ends (only the daemon this script started). Without root and without a daemon the command
# still runs, and the compose tests fail with the reason.
#
#   scripts/with-docker.sh COMMAND [ARG...]
set -uo pipefail
started=""
if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v dockerd >/dev/null 2>&1; then
    mkdir -p .artifacts
    echo "starting dockerd (log: .artifacts/dockerd.log)" >&2
    dockerd >> .artifacts/dockerd.log 2>&1 &
    started=$!
    trap 'kill -TERM "$started" 2>/dev/null; wait "$started" 2>/dev/null' EXIT
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && break
      kill -0 "$started" 2>/dev/null || { echo "dockerd exited: see .artifacts/dockerd.log" >&2; break; }
      sleep 1
    done
    docker info >/dev/null 2>&1 && echo "dockerd $started answers" >&2
  else
    echo "no Docker daemon answers and this user cannot start dockerd: the compose tests will fail" >&2
  fi
fi
"$@"
status=$?
exit "$status"
