#!/usr/bin/env bash
# `make compose-test`: the Dockerfile and docker-compose.yml built and run for real. Starts a Docker
# engine when none runs (and stops it afterwards), makes the base images locally when they cannot
# be pulled (scripts/base-images.sh), then, on a project of its own (so a user's `registryd` stack
# and volume are never touched) and a free host port:
#   build (registryd and tests images), up --build --wait, the `tests` profile's end-to-end suite,
#   registryd's start-to-first-answer time, the data plane (an image pushed with skopeo to the
#   composed registry with an API key's secret: the namespace's size and image_count through
#   registryd, anonymous pull denied), a restart of registryd and a re-creation of both
#   containers on the kept volume (a namespace survives), a PostgreSQL outage (503, /readyz fails,
#   health turns unhealthy) and its end (recovers by itself), down -v. Each step prints its time.
# REGISTRYD_COMPOSE_TEST=require (the default under CI=true) fails when no engine can be started;
# otherwise the suite is skipped with a message; REGISTRYD_COMPOSE_TEST=off skips it at once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/container-engine.sh
source scripts/compose-checks.sh

mode=${REGISTRYD_COMPOSE_TEST:-$([ "${CI:-}" = true ] && echo require || echo auto)}
if [ "$mode" = off ]; then
    echo "compose-test: skipped (REGISTRYD_COMPOSE_TEST=off)" >&2
    exit 0
fi
logs=$(mktemp -d /tmp/registryd-compose-XXXXXX)
export COMPOSE_PROJECT_NAME=registryd-compose-test
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export REGISTRYD_PORT=${REGISTRYD_PORT:-$(free_port)}
export REGISTRY_PORT=${REGISTRY_PORT:-$(free_port)}
export BASE_IMAGES_LOG_DIR=$logs
base=http://127.0.0.1:$REGISTRYD_PORT
timings=()
suite_started=$SECONDS

# step NAME COMMAND...: runs a step, printing and recording how long it took.
step() {
    local name=$1 started
    shift
    echo "== compose: $name" >&2
    current_step=$name
    started=$(date +%s.%N)
    "$@"
    current_step=""
    timings+=("$(awk -v name="$name" -v started="$started" -v now="$(date +%s.%N)" \
        'BEGIN { printf "%-44s %6.1f s", name, now - started }')")
    echo "   ${timings[-1]}" >&2
}

# logged NAME COMMAND...: runs a command into $logs/NAME.log, printing the log's end if it fails.
logged() {
    local name=$1
    shift
    "$@" > "$logs/$name.log" 2>&1 || { tail -n 40 "$logs/$name.log" >&2; fail "$* (log: $logs/$name.log)"; }
}

cleanup() {
    local status=$?
    if [ -n "${compose_up:-}" ]; then
        [ $status -ne 0 ] && docker compose logs --no-color --tail 50 > "$logs/compose.log" 2>&1 \
            && echo "compose logs: $logs/compose.log" >&2
        docker compose --profile tests down -v --remove-orphans >/dev/null 2>&1 || true
    fi
    [ -n "${current_step:-}" ] && echo "compose-test: FAILED in step \"$current_step\" (exit $status)" >&2
    engine_stop
    if [ $status -eq 0 ]; then rm -rf "$logs"; else echo "compose-test: logs in $logs" >&2; fi
    exit $status
}
trap cleanup EXIT

echo "== compose: container engine" >&2
if ! engine_start "$logs"; then
    if [ "$mode" = require ]; then
        echo "compose-test: FAILED: no container engine could be started (required: CI=true or REGISTRYD_COMPOSE_TEST=require)" >&2
        exit 1
    fi
    echo "compose-test: SKIPPED: no container engine could be started; the Dockerfile and docker-compose.yml were not run" >&2
    exit 0
fi
if ! compose_available; then
    scripts/install-compose.sh
fi
compose_available || { echo "compose-test: FAILED: Compose v2 (docker compose) is not available" >&2; exit 1; }

step "base images (make or reuse)" scripts/base-images.sh
compose_up=1
step "build registryd and tests images" logged build docker compose --progress plain --profile tests build
step "up --build --wait" logged up docker compose --progress plain up --build --wait
step "tests profile: end-to-end suite" docker compose run --rm --build tests
step "registryd: start to first answer (x3)" measure_start_to_ready 3
step "create a namespace" create_namespace
step "data plane: skopeo push, size through registryd" data_plane_push
step "restart registryd, namespace kept" restart_registryd
step "re-create all containers, volumes kept" recreate_containers
step "stop postgres: 503, /readyz fails, unhealthy" postgres_outage
step "start postgres: recovers by itself" postgres_return
step "down -v" down_and_check

echo "== compose: image sizes" >&2
for image in registryd:latest "$COMPOSE_PROJECT_NAME-tests:latest" postgres:15-bookworm registry:2.8.2 debian:bookworm-slim swift:6.3-bookworm python:3.11-slim-bookworm; do
    docker image inspect -f '{{.Size}}' "$image" | awk -v image="$image" '{ printf "   %-40s %6.1f MB\n", image, $1 / 1e6 }' >&2
done
echo "== compose: timings" >&2
printf '   %s\n' "${timings[@]}" >&2
printf '   %-44s %6d s\n' "total" "$((SECONDS - suite_started))" >&2
echo "compose-test: ${#timings[@]} passed, 0 failed"
