#!/usr/bin/env python3
"""Tenant fairness, measured: organization B's latency while organization A floods the service.

One run measures registryd both without its fairness settings ("before": DB_WRITES_PER_ORG=0,
DB_LISTINGS_PER_ORG=0, DB_LIST_CONNECTIONS=0, every request sharing the connections first come,
first served) and with its defaults ("after"), in interleaved rounds, on one durable PostgreSQL
cluster of its own, so that the machine's load hits both alike; compare ratios, not milliseconds.

A holds 87,000 namespaces (as in issue 9), B 100. For each configuration: B's GET by id, PATCH and
listing p50 (wrk, 2 connections each, one after another) idle, then while A
  creates   floods creates (wrk, 64 connections),
  lock      floods creates (16 connections) while a second connection holds A's organization_usage
            row (SELECT ... FOR UPDATE in an open transaction),
  list16    lists its namespaces (page_size=100, random page 1-20, name_asc) with 16 clients,
  list64    the same with 64 clients.
B's non-2xx answers are counted (503s are what the issue calls starvation).

    python3 bench/fairness.py [--rounds 2] [--seconds 4]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the cluster, service and wrk helpers of `make bench`)

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
A_SIZE, B_SIZE = 87_000, 100
CONFIGURATIONS = {
    "before": {"DB_WRITES_PER_ORG": "0", "DB_LISTINGS_PER_ORG": "0", "DB_LIST_CONNECTIONS": "0"},
    "after": {},
}
SCENARIOS = ["idle", "creates", "lock", "list16", "list64"]


class Service(bench.Service):
    """`make bench`'s service, with its log in a file: a flood's 503s are logged, and a pipe that
    nobody reads would fill and stop registryd (issue 9's logging item)."""

    def start(self) -> float:
        started = time.monotonic()
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen([self.binary, "serve"], env=self.environment,
                                            stdout=subprocess.DEVNULL, stderr=log)
        while time.monotonic() - started < 30:
            try:
                if bench.urllib.request.urlopen(self.url + "/readyz", timeout=1).status == 200:
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"registryd did not become ready; see {self.log_path}")


def seed(url: str):
    bench.psql(url, f"""
        SET session_replication_role = replica;
        INSERT INTO namespaces (id, region, name, organization_id, project_id)
        SELECT md5('a' || i)::uuid, 'fr-par', 'a-seed-' || i, '{A}', '{A}' FROM generate_series(1, {A_SIZE}) AS i;
        INSERT INTO namespaces (id, region, name, organization_id, project_id)
        SELECT md5('b' || i)::uuid, 'fr-par', 'b-seed-' || i, '{B}', '{B}' FROM generate_series(1, {B_SIZE}) AS i;
        INSERT INTO organization_usage (organization_id, namespace_count) VALUES ('{A}', {A_SIZE}), ('{B}', {B_SIZE})""")
    bench.psql(url, "VACUUM ANALYZE namespaces")
    bench.psql(url, "CHECKPOINT")


def forget_flood(url: str):
    """Removes A's flooded creates, so that every scenario lists the same 87,000 namespaces."""
    bench.psql(url, f"""
        SET session_replication_role = replica;
        DELETE FROM namespaces WHERE organization_id = '{A}' AND name LIKE 'flood-%';
        UPDATE organization_usage SET namespace_count = {A_SIZE} WHERE organization_id = '{A}'""")


def scripts(directory: str, token_a: str, token_b: str) -> dict:
    import hashlib
    b_ids = ",".join('"%s"' % "-".join([h[0:8], h[8:12], h[12:16], h[16:20], h[20:32]])
                     for h in (hashlib.md5(f"b{i}".encode()).hexdigest() for i in range(1, B_SIZE + 1)))
    common = """
counter = 0
thread_id = 0
local threads = {}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 1000 + thread_id)
end
"""
    path = "/registry/v1/regions/fr-par/namespaces"
    bodies = {
        "b_get": f"""
local ids = {{{b_ids}}}
request = function()
  return wrk.format("GET", "{path}/" .. ids[math.random(#ids)], {{["X-Auth-Token"] = "{token_b}"}})
end
""",
        "b_patch": f"""
local ids = {{{b_ids}}}
request = function()
  return wrk.format("PATCH", "{path}/" .. ids[math.random(#ids)],
    {{["X-Auth-Token"] = "{token_b}", ["Content-Type"] = "application/json"}}, '{{"description":"probe"}}')
end
""",
        "b_list": f"""
request = function()
  return wrk.format("GET", "{path}?order_by=name_asc&page_size=100", {{["X-Auth-Token"] = "{token_b}"}})
end
""",
        "a_create": f"""
request = function()
  counter = counter + 1
  local name = string.format("flood-%d-%d-%d", thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "{path}", {{["X-Auth-Token"] = "{token_a}", ["Content-Type"] = "application/json"}},
    '{{"name":"' .. name .. '"}}')
end
""",
        "a_list": f"""
request = function()
  return wrk.format("GET", "{path}?order_by=name_asc&page_size=100&page=" .. math.random(1, 20),
    {{["X-Auth-Token"] = "{token_a}"}})
end
""",
    }
    paths = {}
    for name, body in bodies.items():
        paths[name] = os.path.join(directory, f"{name}.lua")
        with open(paths[name], "w") as file:
            file.write(common + body)
    return paths


def probe(url: str, lua: dict, seconds: int) -> dict:
    """B's GET by id, PATCH and listing (of its 100 namespaces), one after another, 2 connections each."""
    result = {"b_failed": 0}
    for name in ["get", "patch", "list"]:
        run = bench.wrk(url, lua[f"b_{name}"], seconds, connections=2)
        result[f"{name}_p50"] = run["p50_ms"]
        result["b_failed"] += run["non_2xx"] + run["socket_errors"]
    return result


def scenario(name: str, service, database_url: str, lua: dict, seconds: int) -> dict:
    if name == "idle":
        return probe(service.url, lua, seconds)
    script, connections = {"creates": ("a_create", 64), "lock": ("a_create", 16),
                           "list16": ("a_list", 16), "list64": ("a_list", 64)}[name]
    holder = None
    if name == "lock":
        holder = subprocess.Popen(["psql", database_url, "-qAtX", "-c",
                                   f"BEGIN; SELECT namespace_count FROM organization_usage WHERE organization_id = '{A}' "
                                   f"FOR UPDATE; SELECT pg_sleep({3 * seconds + 3}); COMMIT;"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    load = subprocess.Popen(["wrk", "-t2", f"-c{connections}", f"-d{3 * seconds + 2}s", "-s", lua[script], service.url],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(1)
    result = probe(service.url, lua, seconds)
    output, _ = load.communicate()
    # A's own answers: how much the flooding organization got done, and how much it was refused.
    result["a_rps"] = float(bench.re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    refused = bench.re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    total = int(bench.re.search(r"(\d+) requests in", output).group(1))
    result["a_ok_rps"] = result["a_rps"] * (1 - (int(refused.group(1)) if refused else 0) / max(1, total))
    if holder:
        holder.wait()
    if script == "a_create":
        forget_flood(database_url)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=4, help="length of each probe (GET, then PATCH)")
    parser.add_argument("--binary", default="", help="registryd binary (default: build the release one)")
    parser.add_argument("--configuration", action="append", default=[], metavar="NAME:VAR=VALUE,...",
                        help="an extra configuration to measure, e.g. writes4:DB_WRITES_PER_ORG=4")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset (idle is always run)")
    arguments = parser.parse_args()
    for extra in arguments.configuration:
        name, _, assignments = extra.partition(":")
        CONFIGURATIONS[name] = dict(item.split("=", 1) for item in assignments.split(",") if item)
    scenarios = ["idle"] + [s for s in arguments.scenarios.split(",") if s in SCENARIOS and s != "idle"]
    binary = arguments.binary
    if not binary:
        subprocess.run(["swift", "build", "-c", "release", "--product", "registryd"], cwd=bench.ROOT, check=True)
        binary = os.path.join(bench.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=bench.ROOT).stdout.strip(),
                              "registryd")
    work = tempfile.mkdtemp(prefix="registryd-fairness-")
    os.chmod(work, 0o755)
    cluster = bench.Cluster(os.path.join(work, "pg"))
    try:
        admin = cluster.start()
        bench.psql(admin, "CREATE DATABASE fairness")
        database_url = admin.replace("/postgres?", "/fairness?")
        port = 18500 + os.getpid() % 1000
        results = {configuration: {s: [] for s in scenarios} for configuration in CONFIGURATIONS}
        lua = None
        for round_index in range(arguments.rounds):
            for configuration, overrides in CONFIGURATIONS.items():
                service = Service(binary, database_url, port, pool_size=10, event_loops="0")
                service.log_path = os.path.join(work, f"registryd-{configuration}.log")
                service.environment.update(overrides, NAMESPACE_QUOTA="10000000")
                service.start()
                if lua is None:
                    print("seeding ...", file=sys.stderr)
                    seed(database_url)
                    lua = scripts(work, service.create_key(A), service.create_key(B))
                    bench.wrk(service.url, lua["b_get"], 2, connections=2)  # warm up
                for name in scenarios:
                    result = scenario(name, service, database_url, lua, arguments.seconds)
                    print(f"round {round_index + 1} {configuration:6} {name:7} {result}", file=sys.stderr, flush=True)
                    results[configuration][name].append(result)
                service.stop()
        report(results)
    finally:
        cluster.stop()
        subprocess.run(["rm", "-rf", work], check=False)


def report(results: dict):
    print("\nB's p50 in ms (median of rounds), the ratio to B's idle p50, and B's failed requests (all rounds);")
    print("a p50 taken while B's requests failed is mostly the failures' own latency")
    print(f"| scenario | {' | '.join(f'{c} GET | {c} PATCH | {c} list | {c} B failed' for c in results)} |")
    print("|---|" + "---:|" * (4 * len(results)))
    scenarios = list(next(iter(results.values())))
    for name in scenarios:
        cells = []
        for configuration, by_scenario in results.items():
            runs = by_scenario[name]
            idle = by_scenario["idle"]
            for key in ["get_p50", "patch_p50", "list_p50"]:
                value = statistics.median(r[key] for r in runs)
                base = statistics.median(r[key] for r in idle)
                cells.append(f"{value:.2f} ({value / base:.1f}x)")
            cells.append(str(sum(r["b_failed"] for r in runs)))
        print(f"| {name} | {' | '.join(cells)} |")
    print("\nA's own successful requests per second (median of rounds)")
    print(f"| scenario | {' | '.join(results)} |")
    print("|---|" + "---:|" * len(results))
    for name in scenarios[1:]:
        rates = [statistics.median(r["a_ok_rps"] for r in by_scenario[name]) for by_scenario in results.values()]
        print(f"| {name} | {' | '.join(f'{rate:.0f}' for rate in rates)} |")


if __name__ == "__main__":
    main()
