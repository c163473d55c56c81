#!/usr/bin/env bash
# `make test`: the whole suite against a throwaway PostgreSQL that is stopped and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

scripts/install-deps.sh

cluster=$(mktemp -d /tmp/registryd-test-XXXXXX)
cleanup() {
    scripts/pg-cluster.sh stop "$cluster" || true
    rm -rf "$cluster"
}
trap cleanup EXIT
export REGISTRYD_TEST_DATABASE_URL=$(scripts/pg-cluster.sh start "$cluster" --throwaway)

echo "== swift build" >&2
swift build --build-tests
echo "== swift test (unit, PostgreSQL integration, end-to-end over HTTP)" >&2
swift test --skip-build
