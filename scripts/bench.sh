#!/usr/bin/env bash
# `make bench`: install what is missing, then run every benchmark script in one go, each with the
# same options (each takes what it knows), each writing its figures to bench-results/:
# bench/bench.py (builds in release mode; latest.json), bench/data_plane_bench.py (data_plane.json),
# bench/replica_bench.py (replica.json), bench/webhook_bench.py (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"
scripts/install-deps.sh wrk postgresql-contrib
python3 bench/bench.py "$@"
# The data plane (issue 11): token issuance vs openssl's raw RS256 rate, event ingestion.
python3 bench/data_plane_bench.py "$@"
# Primary + hot standby (issue 15): reads on the replica vs the primary alone, and failover time.
python3 bench/replica_bench.py --binary .build/release/registryd "$@"
# Change-event webhooks (issue 14, part 4): delivery throughput and the lag under the create benchmark.
python3 bench/webhook_bench.py --binary .build/release/registryd "$@"
