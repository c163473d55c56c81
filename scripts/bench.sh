#!/usr/bin/env bash
# `make bench`: install what is missing, then run bench/bench.py (which builds in release mode).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/install-deps.sh wrk postgresql-contrib
exec python3 bench/bench.py "$@"
