#!/usr/bin/env bash
# Freezes PostgreSQL (SIGSTOP on the postmaster and every backend) under a running registryd and
# reports how long requests wait, how soon service resumes after SIGCONT, and how long SIGTERM
# takes while the database is frozen. The figures of the README's "frozen database" section.
#
#   scripts/freeze-check.sh [REGISTRYD_BINARY] [FREEZE_SECONDS]
#
# Uses its own throwaway cluster (scripts/pg-cluster.sh) and registryd's default timeouts unless
# DB_POOL_TIMEOUT_MS / DB_STATEMENT_TIMEOUT_MS / SHUTDOWN_GRACE_S are set in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/debug/registryd}
freeze_s=${2:-20}
dir=$(mktemp -d /tmp/registryd-freeze-XXXXXX)
chmod 755 "$dir"
url=$(scripts/pg-cluster.sh start "$dir/pg" --throwaway)
port=$((20000 + RANDOM % 20000))
log="$dir/registryd.log"
pids=""
cleanup() {
    [ -n "$pids" ] && kill -CONT $pids 2>/dev/null || true
    [ -n "${server:-}" ] && kill -9 "$server" 2>/dev/null || true
    scripts/pg-cluster.sh stop "$dir/pg" || true
    rm -rf "$dir"
}
trap cleanup EXIT
export DATABASE_URL=$url PORT=$port LOG_LEVEL=warning MIGRATIONS_DIR=migrations
secret=$("$binary" api-key create --organization-id 11111111-1111-4111-8111-111111111111 2>/dev/null \
    | awk '/^secret_key:/ {print $2}') || true
if [ -z "$secret" ]; then "$binary" migrate >/dev/null 2>&1; secret=$("$binary" api-key create --organization-id 11111111-1111-4111-8111-111111111111 | awk '/^secret_key:/ {print $2}'); fi
"$binary" serve 2>"$log" &
server=$!
api=http://127.0.0.1:$port/registry/v1/regions/fr-par/namespaces
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
for i in 1 2 3; do curl -s -o /dev/null -H "X-Auth-Token: $secret" -X POST "$api" -d "{\"name\":\"warm-$i\"}"; done
curl -s -o /dev/null -H "X-Auth-Token: $secret" "$api"

freeze() {
    local postmaster
    postmaster=$(head -1 "$dir/pg/data/postmaster.pid")
    pids="$postmaster $(pgrep -P "$postmaster" | tr '\n' ' ')"
    kill -STOP $pids
}
thaw() { kill -CONT $pids; pids=""; }
timed() { curl -s -o /dev/null -m 60 -w "%{http_code} %{time_total}\n" "$@"; }

echo "== PostgreSQL frozen for ${freeze_s} s; each request: status and seconds"
freeze
frozen_at=$(date +%s.%N)
out="$dir/requests"
: >"$out"
for i in 1 2 3 4 5; do
    (echo "GET    $(timed -H "X-Auth-Token: $secret" "$api?name=x$i")" >>"$out") &
    (echo "POST   $(timed -H "X-Auth-Token: $secret" -X POST "$api" -d "{\"name\":\"frozen-$i\"}")" >>"$out") &
done
(echo "readyz $(timed "http://127.0.0.1:$port/readyz")" >>"$out") &
sleep "$freeze_s"
thaw
thawed_at=$(date +%s.%N)
wait $(jobs -p | grep -v "^$server$") 2>/dev/null || true
sort "$out"
recovered=""
while [ -z "$recovered" ]; do
    code=$(curl -s -o /dev/null -m 5 -w "%{http_code}" -H "X-Auth-Token: $secret" "$api")
    ready=$(curl -s -o /dev/null -m 5 -w "%{http_code}" "http://127.0.0.1:$port/readyz")
    if [ "$code" = 200 ] && [ "$ready" = 200 ]; then recovered=$(date +%s.%N); else sleep 0.05; fi
done
echo "== after SIGCONT: GET and /readyz 200 again after $(echo "$recovered - $thawed_at" | bc) s"

echo "== SIGTERM while PostgreSQL is frozen (SHUTDOWN_GRACE_S=${SHUTDOWN_GRACE_S:-10})"
freeze
(timed -H "X-Auth-Token: $secret" "$api" >/dev/null) &
sleep 0.3
term_at=$(date +%s.%N)
kill -TERM "$server"
while kill -0 "$server" 2>/dev/null; do
    if [ "$(echo "$(date +%s.%N) - $term_at > 60" | bc)" = 1 ]; then echo "still running 60 s after SIGTERM"; break; fi
    sleep 0.05
done
echo "   exited after $(echo "$(date +%s.%N) - $term_at" | bc) s"
thaw
