#!/usr/bin/env python3
"""Primary + hot standby (issue 15): read throughput with reads on the replica vs the primary
alone, and the failover time (SIGKILL of the primary to the first acknowledged create on the
promoted standby).

  python3 bench/replica_bench.py [--seconds 5] [--rounds 2] [--binary .build/release/registryd]

Both services run on one machine with both PostgreSQL servers: on a 2-core machine expect no
gain from the replica (the cores are shared); the point is the mechanism and the numbers for the
capacity model. Ratios are measured within one run, interleaved.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402  (Service, seed, wrk, lua_scripts)

ROOT = bench.ROOT
SCRIPT = f"{ROOT}/scripts/pg-cluster.sh"


def cluster(command: list[str]) -> str:
    return bench.run([SCRIPT] + command).stdout.strip()


def post(url: str, token: str, name: str) -> int:
    request = urllib.request.Request(
        url + "/registry/v1/regions/fr-par/namespaces", method="POST",
        data=json.dumps({"name": name}).encode(),
        headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--binary", default=f"{ROOT}/.build/release/registryd")
    parser.add_argument("--replica-output", default=os.path.join(ROOT, "bench-results", "replica.json"))
    arguments, _ = parser.parse_known_args()  # make bench passes bench.py's options too
    directory = tempfile.mkdtemp(prefix="registryd-replica-bench-")
    os.chmod(directory, 0o755)
    primary_dir, standby_dir = f"{directory}/primary", f"{directory}/standby"
    services = []
    try:
        primary = cluster(["start", primary_dir, "--primary"])
        # The standby first: the primary's commits wait for it (synchronous replication).
        standby = cluster(["standby", standby_dir, primary_dir])
        bench.psql(primary, "CREATE DATABASE bench")
        primary_url = primary.replace("/postgres?", "/bench?")
        environment = dict(os.environ, DATABASE_URL=primary_url, MIGRATIONS_DIR=f"{ROOT}/migrations")
        bench.run([arguments.binary, "migrate"], env=environment)
        bench.seed(primary_url, 1, 20_000, big_org=True)
        standby_url = standby.replace("/postgres?", "/bench?")
        failover_url = primary_url + "," + standby_url.split("host=")[1] + "&target_session_attrs=read-write"

        alone = bench.Service(arguments.binary, failover_url, 18081, 8, "0")  # HTTP_EVENT_LOOPS: one per core
        with_replica = bench.Service(arguments.binary, failover_url, 18082, 8, "0")  # HTTP_EVENT_LOOPS: one per core
        with_replica.environment["DATABASE_READ_URL"] = standby_url
        services = [alone, with_replica]
        for service in services:
            service.start()
        token = alone.create_key(bench.org(0))
        lua = bench.lua_scripts(directory, [token])
        results = {}
        for scenario in ["get", "list_created_at_asc_page1"]:
            for label, service in [("primary_only", alone), ("replica_reads", with_replica)]:
                bench.wrk(service.url, lua[scenario], 1)  # warm up
            for _ in range(arguments.rounds):
                for label, service in [("primary_only", alone), ("replica_reads", with_replica)]:
                    result = bench.wrk(service.url, lua[scenario], arguments.seconds)
                    if result["non_2xx"] or result["socket_errors"]:
                        raise RuntimeError(f"{scenario} on {label}: {result}")
                    results.setdefault(f"{scenario}_{label}", []).append(result["rps"])
        report = {name: max(rates) for name, rates in results.items()}
        for scenario in ["get", "list_created_at_asc_page1"]:
            report[f"{scenario}_replica_over_primary"] = round(
                report[f"{scenario}_replica_reads"] / report[f"{scenario}_primary_only"], 3)

        # Failover: creates in a loop on `alone`, SIGKILL the primary, promote the standby.
        index = 0
        while post(alone.url, token, f"before-{index}") != 200 and index < 100:
            index += 1
        killed = time.monotonic()
        cluster(["kill", primary_dir])
        cluster(["promote", standby_dir])
        promoted = time.monotonic() - killed
        statuses = {}
        while time.monotonic() - killed < 60:
            index += 1
            status = post(alone.url, token, f"after-{index}")
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                break
        report["failover_seconds"] = round(time.monotonic() - killed, 3)
        report["failover_promote_seconds"] = round(promoted, 3)
        report["failover_answers_meanwhile"] = {str(key): value for key, value in statuses.items()}
        os.makedirs(os.path.dirname(arguments.replica_output), exist_ok=True)
        with open(arguments.replica_output, "w") as file:
            json.dump(report, file, indent=2)
        print(json.dumps(report, indent=2))
    finally:
        for service in services:
            service.stop()
        for path in [standby_dir, primary_dir]:
            subprocess.run([SCRIPT, "stop", path, "immediate"], check=False, capture_output=True)
        subprocess.run(["rm", "-rf", directory], check=False)


if __name__ == "__main__":
    main()
