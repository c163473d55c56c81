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

echo "== official Scaleway SDK, schemathesis and hostile clients against a running registryd; compose and Dockerfile checks" >&2
if [ ! -x .venv/bin/pytest ] || ! cmp -s Tests/sdk/requirements.txt .venv/requirements.txt; then
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r Tests/sdk/requirements.txt
    cp Tests/sdk/requirements.txt .venv/requirements.txt
fi
REGISTRYD_BINARY="$(swift build --show-bin-path)/registryd" .venv/bin/pytest -q -p no:cacheprovider Tests/sdk Tests/deploy
