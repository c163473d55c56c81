#!/usr/bin/env bash
# `make bench`: install what is missing, build in release mode, run bench/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/install-deps.sh wrk postgresql-contrib
swift build -c release --product registryd
exec python3 bench/bench.py "$@"
