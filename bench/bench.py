#!/usr/bin/env python3
"""`make bench`: registryd against its own baselines, measured in one run on one machine.

It builds registryd in release mode, starts a PostgreSQL cluster of its own (durable settings,
pg_stat_statements loaded), seeds 100,000 namespaces across 100 organizations and 3 regions (one
organization holds 10,000), starts registryd, warms up, then runs every scenario in interleaved
rounds so that machine noise hits all alike:

  service (wrk, 64 keep-alive connections)    baseline (pgbench -M prepared, as many clients as the
                                              endpoint has connections: the read pipeline's, the pool's)
  GET by id, random ids of the big org        the SELECT the GET endpoint ran
  list, page_size=100, random page 1-20,      the listing statement it ran, same random offsets
    created_at_asc and name_asc
  create, unique names, 100 organizations     the INSERT ... WITH usage statement it ran
  create of a taken name (409)                (none: pgbench aborts a client on a failing statement)
  list images, page_size=100, random page     the image listing statement it ran (images.py: a
    1-20 of a namespace of 10,000 images        namespace of the big organization holds 10,000)
  GET image by id, random of those 10,000     the SELECT the GET image endpoint ran
  list tags, page_size=100, random page 1-10  the tag listing it ran (the image lookup before it
    of an image of 1,000 tags                   runs on the read pipeline, beside the listing lane)
  GET tag by id, random of 10,000             the SELECT the GET tag endpoint ran
  deep pages (deep_pages.py: an organization  latency (one connection) of page 1,000 vs page 1,
    of 100,000 namespaces in one region)        by OFFSET and by keyset continuation (page_token)
  GET /healthz (the HTTP layer's ceiling)

The baselines run the very statements the service ran: they are read back from
pg_stat_statements after the warm-up, and each $n is bound to a pgbench variable (the seed's ids
are md5-derived so that pgbench can compute them). It prints one table and writes the same
figures to bench-results/latest.json. Flags: --seconds per run, --rounds, --keep (leave the
cluster), --pool-size, --event-loops.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import deep_pages  # the deep-page scenarios (issue 10), beside this file
import images  # the image and tag scenarios (issues 12 and 10), beside this file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
REGIONS = ["fr-par", "nl-ams", "pl-waw"]
TOTAL, ORGANIZATIONS, BIG = 100_000, 100, 10_000


def org(k: int) -> str:
    return f"00000000-0000-4000-8000-{k:012d}"


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True, capture_output=True, **kwargs)


def psql(url: str, sql: str) -> str:
    return run(["psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql]).stdout.strip()


# MARK: - Setup

class Cluster:
    def __init__(self, directory: str):
        self.directory = directory
        self.url = None

    def start(self):
        self.url = run([f"{ROOT}/scripts/pg-cluster.sh", "start", self.directory, "--benchmark"]).stdout.strip()
        return self.url

    def stop(self):
        subprocess.run([f"{ROOT}/scripts/pg-cluster.sh", "stop", self.directory], check=False)


def seed(url: str, first: int, last: int, big_org: bool):
    """Inserts namespaces first..last; ids are md5('ns' || i)::uuid so that pgbench can compute them."""
    owner = (f"CASE WHEN i <= {BIG} THEN '{org(0)}'::uuid "
             f"ELSE ('00000000-0000-4000-8000-' || lpad((1 + i % {ORGANIZATIONS - 1})::text, 12, '0'))::uuid END"
             if big_org else
             f"('00000000-0000-4000-8000-' || lpad((1 + i % {ORGANIZATIONS - 1})::text, 12, '0'))::uuid")
    # Triggers are skipped while seeding (session_replication_role = replica): the per-row
    # organization_usage upkeep would update the same 100 rows a million times. The counts are
    # then set once, as the trigger would have left them.
    psql(url, f"""
        SET session_replication_role = replica;
        INSERT INTO namespaces (id, region, name, description, organization_id, project_id, created_at, updated_at)
        SELECT md5('ns' || i)::uuid, (ARRAY['fr-par','nl-ams','pl-waw'])[1 + i % 3], 'seed-' || i, 'd' || (i % 1000),
               {owner}, {owner}, now() - ({last} - i) * interval '1 millisecond', now() - ({last} - i) * interval '1 millisecond'
          FROM generate_series({first}, {last}) AS i;
        INSERT INTO organization_usage (organization_id, namespace_count)
        SELECT organization_id, count(*) FROM namespaces GROUP BY organization_id
        ON CONFLICT (organization_id) DO UPDATE SET namespace_count = EXCLUDED.namespace_count""")
    psql(url, "VACUUM ANALYZE namespaces")
    psql(url, "VACUUM ANALYZE organization_usage")
    psql(url, "CHECKPOINT")  # so that writing the seed out does not run during a measurement


class Service:
    def __init__(self, binary: str, database_url: str, port: int, pool_size: int, event_loops: str,
                 read_connections: int = 2, list_connections: int = 1):
        self.environment = dict(os.environ, DATABASE_URL=database_url, PORT=str(port), LISTEN_ADDRESS="127.0.0.1",
                                DB_POOL_SIZE=str(pool_size), DB_READ_CONNECTIONS=str(read_connections),
                                DB_LIST_CONNECTIONS=str(list_connections),
                                LOG_LEVEL="warning", HTTP_EVENT_LOOPS=event_loops,
                                MIGRATIONS_DIR=f"{ROOT}/migrations", AUTH_CACHE_TTL_MS="60000",
                                HTTP_CONNECTION_LIMIT="4096")
        self.binary, self.port, self.process = binary, port, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> float:
        """Starts registryd and returns the seconds until /readyz answered 200."""
        started = time.monotonic()
        self.process = subprocess.Popen([self.binary, "serve"], env=self.environment,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while time.monotonic() - started < 30:
            try:
                if urllib.request.urlopen(self.url + "/readyz", timeout=1).status == 200:
                    return time.monotonic() - started
            except OSError:
                time.sleep(0.002)
        raise RuntimeError("registryd did not become ready: " + (self.process.stderr.read() if self.process.poll() else ""))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process used so far."""
        with open(f"/proc/{self.process.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wrk(self, script: str, seconds: int, connections: int = 64, threads: int = 2) -> dict:
        """wrk against this service, with the CPU time it spent per request: a cost that the other
        load on a shared machine changes far less than it changes the rates."""
        before = self.cpu_seconds()
        result = wrk(self.url, script, seconds, connections, threads)
        result["cpu_us_per_request"] = (self.cpu_seconds() - before) * 1e6 / max(1, result["requests"])
        return result

    def reset_peak_rss(self):
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as file:
            file.write("5")

    def peak_rss_bytes(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as file:
            return int(re.search(r"VmHWM:\s+(\d+) kB", file.read()).group(1)) * 1024

    def create_key(self, organization: str) -> str:
        output = run([self.binary, "api-key", "create", "--organization-id", organization, "--description", "bench"],
                     env=self.environment).stdout
        return re.search(r"secret_key:\s+(\S+)", output).group(1)


# MARK: - Load generators

def lua_scripts(directory: str, tokens: list[str]) -> dict:
    big_token = tokens[0]
    ids = ",".join(f'{{"{REGIONS[i % 3]}","{md5_uuid(i)}"}}' for i in range(1, BIG + 1))
    token_list = ",".join(f'"{token}"' for token in tokens)
    common = f"""
counter = 0
thread_id = 0
local threads = {{}}
function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed(os.time() * 1000 + thread_id)
end
"""
    scripts = {
        "get": f"""
local ids = {{{ids}}}
request = function()
  local entry = ids[math.random(#ids)]
  return wrk.format("GET", "/registry/v1/regions/" .. entry[1] .. "/namespaces/" .. entry[2], {{["X-Auth-Token"] = "{big_token}"}})
end
""",
        "create": f"""
local tokens = {{{token_list}}}
request = function()
  counter = counter + 1
  local name = string.format("bench-%d-%d-%d", thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/registry/v1/regions/fr-par/namespaces",
    {{["X-Auth-Token"] = tokens[math.random(#tokens)], ["Content-Type"] = "application/json"}},
    '{{"name":"' .. name .. '","description":"bench"}}')
end
""",
        # The same creates, each with its own Idempotency-Key (issue 14): the cost of storing the
        # response in the change's transaction, as the ratio create_idempotent_vs_create.
        "create_idempotent": f"""
local tokens = {{{token_list}}}
request = function()
  counter = counter + 1
  local name = string.format("idem-%d-%d-%d", thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/registry/v1/regions/fr-par/namespaces",
    {{["X-Auth-Token"] = tokens[math.random(#tokens)], ["Content-Type"] = "application/json", ["Idempotency-Key"] = name}},
    '{{"name":"' .. name .. '","description":"bench"}}')
end
""",
        "conflict": f"""
request = function()
  return wrk.format("POST", "/registry/v1/regions/fr-par/namespaces",
    {{["X-Auth-Token"] = "{big_token}", ["Content-Type"] = "application/json"}}, '{{"name":"seed-3"}}')
end
""",
    }
    for order in ["created_at_asc", "name_asc"]:
        for label, pages in [("", "math.random(1, 20)"), ("_page1", "1"), ("_page20", "20")]:
            scripts[f"list_{order}{label}"] = f"""
request = function()
  return wrk.format("GET", "/registry/v1/regions/fr-par/namespaces?order_by={order}&page_size=100&page=" .. {pages},
    {{["X-Auth-Token"] = "{big_token}"}})
end
"""
    scripts["healthz"] = 'request = function() return wrk.format("GET", "/healthz") end\n'
    # GET by id at a paced load: each of the 64 connections waits 3 ms between an answer and its
    # next request, so two builds compared in the same rounds carry about the same load (well
    # under saturation) and their p99 compares latency, not how far each was pushed.
    scripts["get_paced"] = scripts["get"] + "delay = function() return 3 end\n"
    paths = {}
    for name, body in scripts.items():
        path = os.path.join(directory, f"{name}.lua")
        with open(path, "w") as file:
            file.write(common + body)
        paths[name] = path
    paths.update(images.write_lua(directory, common, big_token, md5_uuid(3)))
    return paths


def md5_uuid(i: int) -> str:
    import hashlib
    digest = hashlib.md5(f"ns{i}".encode()).hexdigest()
    return f"{digest[0:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def parse_duration(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(url: str, script: str, seconds: int, connections: int = 64, threads: int = 2) -> dict:
    output = run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url]).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for percentile in ["50", "99"]:
        result[f"p{percentile}_ms"] = parse_duration(re.search(rf"^\s+{percentile}%\s+(\S+)", output, re.M).group(1)) * 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result["socket_errors"] = sum(map(int, errors.groups())) if errors else 0
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    return result


def pgbench(url: str, script: str, seconds: int, clients: int, directory: str, defines: dict) -> dict:
    log_prefix = os.path.join(directory, "pgbench_log")
    for stale in os.listdir(directory):
        if stale.startswith("pgbench_log"):
            os.remove(os.path.join(directory, stale))
    command = ["pgbench", "-n", "-M", "prepared", f"-c{clients}", "-j2", f"-T{seconds}", "-f", script,
               "-l", f"--log-prefix={log_prefix}"]
    for key, value in defines.items():
        command += ["-D", f"{key}={value}"]
    output = run(command + [url], cwd=directory).stdout
    latencies = []
    for name in os.listdir(directory):
        if name.startswith("pgbench_log"):
            with open(os.path.join(directory, name)) as file:
                latencies += [int(line.split()[2]) for line in file if line.strip()]
    latencies.sort()
    return {"rps": float(re.search(r"tps = ([\d.]+)", output).group(1)),
            "p50_ms": latencies[len(latencies) // 2] / 1000, "p99_ms": latencies[int(len(latencies) * 0.99)] / 1000,
            "requests": len(latencies), "non_2xx": 0, "socket_errors": 0}


# MARK: - Baselines from pg_stat_statements

def statement(url: str, must_contain: list[str]) -> str:
    rows = psql(url, "SELECT query FROM pg_stat_statements ORDER BY calls DESC").split("\n")
    texts = psql(url, "SELECT string_agg(query, E'\\x1e' ORDER BY calls DESC) FROM pg_stat_statements").split("\x1e")
    for text in texts:
        if all(fragment in text for fragment in must_contain):
            return text
    raise RuntimeError(f"no statement with {must_contain} in pg_stat_statements ({len(rows)} statements)")


def pgbench_scripts(url: str, directory: str) -> dict:
    scripts = {}

    def write(name: str, prelude: str, sql: str, bindings: dict):
        """A pgbench script: `prelude`, then `sql` (statements one per line) with its bindings."""
        lines = [bind(line, bindings) for line in sql.split(";\n")]
        path = os.path.join(directory, f"{name}.sql")
        with open(path, "w") as file:
            file.write(prelude + ";\n".join(lines) + ";\n")
        scripts[name] = path

    get = statement(url, ["FROM namespaces WHERE id = $1 AND region = $2"])
    write("get", "\\set i random(1, %d)\n" % BIG, get, {
        1: "md5('ns' || :i)::uuid", 2: "(ARRAY['fr-par','nl-ams','pl-waw'])[1 + :i % 3]", 3: ":org", 4: "NULL"})
    for order, column in [("created_at_asc", "created_at"), ("name_asc", "name")]:
        listing = statement(url, ["SELECT total.count", f"ORDER BY namespaces.{column} ASC", "OFFSET"])
        write(f"list_{order}", "\\set offset (random(1, 20) - 1) * 100\n", listing,
              {1: ":org", 2: ":region", 3: "100", 4: ":offset", 5: "true"})  # listingStatement binds the organization first; $5: pg_stat_statements' stand-in for ON true
    images.pgbench_scripts(lambda fragments: statement(url, fragments), write, org(0))
    deep_pages.pgbench_scripts(lambda fragments: statement(url, fragments + ["OFFSET"]), write)
    # A create is one transaction (ChangeTransaction): BEGIN, the prologue that sets the audit
    # trigger's settings and takes the Idempotency-Key lock (no key here: the lock is skipped),
    # the INSERT (whose trigger then writes the audit row), COMMIT. The baseline runs all four.
    organization = "('00000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))"
    prologue = bind(statement(url, ["set_config(", "pg_try_advisory_xact_lock"]), {
        1: "'SCWBENCH'", 2: "'pgbench-' || :n", 3: "467", 4: "NULL", 5: organization,
        # the constants pg_stat_statements replaced by parameters, in the order they appear
        6: "'registryd.access_key'", 7: "true", 8: "'registryd.request_id'", 9: "true", 10: "'/'"})
    create = bind(statement(url, ["WITH usage AS", "INSERT INTO namespaces"]), {
        1: ":region", 2: "'pgbench-' || :n", 3: "'bench'", 4: organization + "::uuid", 5: organization + "::uuid",
        6: "false", 7: "100000"})
    write("create", "\\set n random(1, 1000000000000)\n\\set k random(0, %d)\n" % (ORGANIZATIONS - 1),
          "BEGIN;\n" + prologue + ";\n" + create + ";\nCOMMIT", {})
    return scripts


def bind(sql: str, bindings: dict) -> str:
    """`sql` on one line with each `$n` replaced by its pgbench expression."""
    for number in sorted(bindings, key=lambda n: -n):  # $10 before $1
        sql = sql.replace(f"${number}", bindings[number])
    if re.search(r"\$\d", sql):
        raise RuntimeError(f"unbound parameter in {sql}")
    return " ".join(sql.split())


# MARK: - Main

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="length of each run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every scenario")
    parser.add_argument("--pool-size", type=int, default=8, help="DB_POOL_SIZE (writes), and pgbench's clients for create")
    parser.add_argument("--read-connections", type=int, default=2,
                        help="DB_READ_CONNECTIONS (pipelined reads), and pgbench's clients for GET and list")
    parser.add_argument("--list-connections", type=int, default=1,
                        help="DB_LIST_CONNECTIONS (the listing lane), and pgbench's clients for list")
    parser.add_argument("--event-loops", default="0", help="HTTP_EVENT_LOOPS (registryd's default 0: one per core)")
    parser.add_argument("--skip-million", action="store_true", help="skip the 1,000,000-row listing check")
    parser.add_argument("--keep", action="store_true", help="leave the cluster's directory behind")
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (default: all); ratios need their pairs")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench-results", "latest.json"))
    parser.add_argument("--compare", "--compare-binary", dest="compare", default="",
                        help="another registryd binary (e.g. a build of the previous commit): every wrk scenario "
                             "also runs against it, interleaved, as <name>@compare, and the report gives new/compare")
    arguments = parser.parse_args()

    # Built here, not only by `make bench`: a subset run straight from this script must not measure
    # a release binary older than the sources.
    print("building registryd in release mode ...", flush=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "registryd"], cwd=ROOT, check=True)
    binary = os.path.join(run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT).stdout.strip(), "registryd")
    work = tempfile.mkdtemp(prefix="registryd-bench-")
    os.chmod(work, 0o755)  # the postgres user must reach the cluster inside it
    cluster = Cluster(os.path.join(work, "pg"))
    service = None
    services = []
    try:
        admin = cluster.start()
        psql(admin, "CREATE DATABASE bench")
        database_url = admin.replace("/postgres?", "/bench?")
        service = Service(binary, database_url, 18400 + os.getpid() % 1000, arguments.pool_size, arguments.event_loops,
                          arguments.read_connections, arguments.list_connections)
        first_start = service.start()  # migrates the empty database
        service.stop()
        psql(database_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        print(f"seeding {TOTAL:,} namespaces ...", file=sys.stderr)
        seed(database_url, 1, TOTAL, big_org=True)
        images.seed_images(psql, database_url)
        deep_pages.seed(psql, database_url)
        psql(database_url, "VACUUM ANALYZE namespaces")
        psql(database_url, "CHECKPOINT")
        startups = []
        for _ in range(5):
            startups.append(service.start())
            service.stop()
        startup = statistics.median(startups)
        service.start()
        tokens = [service.create_key(org(k)) for k in range(ORGANIZATIONS)]
        lua = lua_scripts(work, tokens)
        deep_token = service.create_key(deep_pages.organization())
        lua.update(deep_pages.write_lua(work, "", service.url, deep_token))

        print("warming up ...", file=sys.stderr)
        for name in ["get", "list_created_at_asc", "list_name_asc", "create", "create_idempotent", "conflict", "healthz", "get_image", "list_images",
                     "get_tag", "list_tags"] + [name for name in lua if name.startswith("deep_")]:
            wrk(service.url, lua[name], 2)
        sql = pgbench_scripts(database_url, work)
        defines = {"org": org(0), "region": "fr-par"}
        # pgbench uses as many connections as the endpoint does: the read pipeline's for GET, the
        # listing lane's for listings, the pool's for writes.
        clients = {"get": arguments.read_connections, "list_created_at_asc": arguments.list_connections,
                   "list_name_asc": arguments.list_connections, "create": arguments.pool_size,
                   "get_image": arguments.read_connections, "list_images": arguments.list_connections,
                   "get_tag": arguments.read_connections, "list_tags": arguments.list_connections,
                   "deep_page1": 1, "deep_count": 1}
        for name, path in sql.items():
            pgbench(database_url, path, 1, clients[name], work, defines)

        scenarios = [
            ("get", lambda target=None: (target or service).wrk(lua["get"], arguments.seconds)),
            ("get_paced", lambda target=None: (target or service).wrk(lua["get_paced"], arguments.seconds)),
            ("pg_get", lambda: pgbench(database_url, sql["get"], arguments.seconds, clients["get"], work, defines)),
            ("healthz", lambda target=None: (target or service).wrk(lua["healthz"], arguments.seconds)),
            ("list_created_at_asc", lambda target=None: (target or service).wrk(lua["list_created_at_asc"], arguments.seconds)),
            ("pg_list_created_at_asc", lambda: pgbench(database_url, sql["list_created_at_asc"], arguments.seconds, clients["list_created_at_asc"], work, defines)),
            ("list_name_asc", lambda target=None: (target or service).wrk(lua["list_name_asc"], arguments.seconds)),
            ("pg_list_name_asc", lambda: pgbench(database_url, sql["list_name_asc"], arguments.seconds, clients["list_name_asc"], work, defines)),
            ("list_created_at_asc_page1", lambda target=None: (target or service).wrk(lua["list_created_at_asc_page1"], arguments.seconds)),
            ("list_created_at_asc_page20", lambda target=None: (target or service).wrk(lua["list_created_at_asc_page20"], arguments.seconds)),
            ("create", lambda target=None: (target or service).wrk(lua["create"], arguments.seconds)),
            ("create_idempotent", lambda target=None: (target or service).wrk(lua["create_idempotent"], arguments.seconds)),
            ("pg_create", lambda: pgbench(database_url, sql["create"], arguments.seconds, clients["create"], work, defines)),
            ("conflict", lambda target=None: (target or service).wrk(lua["conflict"], arguments.seconds)),
            ("list_images", lambda target=None: (target or service).wrk(lua["list_images"], arguments.seconds)),
            ("pg_list_images", lambda: pgbench(database_url, sql["list_images"], arguments.seconds, clients["list_images"], work, defines)),
            ("get_image", lambda target=None: (target or service).wrk(lua["get_image"], arguments.seconds)),
            ("pg_get_image", lambda: pgbench(database_url, sql["get_image"], arguments.seconds, clients["get_image"], work, defines)),
            ("list_tags", lambda target=None: (target or service).wrk(lua["list_tags"], arguments.seconds)),
            ("pg_list_tags", lambda: pgbench(database_url, sql["list_tags"], arguments.seconds, clients["list_tags"], work, defines)),
            ("get_tag", lambda target=None: (target or service).wrk(lua["get_tag"], arguments.seconds)),
            ("pg_get_tag", lambda: pgbench(database_url, sql["get_tag"], arguments.seconds, clients["get_tag"], work, defines)),
        ] + deep_pages.scenarios(lambda script, target=None: (target or service).wrk(script, arguments.seconds, connections=1, threads=1),
                                 lambda script: pgbench(database_url, script, arguments.seconds, 1, work, defines),
                                 lua, sql)
        if arguments.only:
            wanted = set(arguments.only.split(","))
            scenarios = [(name, scenario) for name, scenario in scenarios if name in wanted]
        if arguments.compare:
            # Every wrk scenario again against the other binary, right after its twin: the
            # before/after of a change in one command, `<name>@compare` in the report.
            compared = Service(arguments.compare, database_url, service.port + 1, arguments.pool_size,
                               arguments.event_loops, arguments.read_connections, arguments.list_connections)
            compared.start()
            services.append(compared)
            scenarios = [pair for name, scenario in scenarios for pair in
                         ([(name, scenario)] if name.startswith("pg_") else
                          [(name, scenario), (name + "@compare", lambda s=scenario: s(compared))])]
        results = {name: [] for name, _ in scenarios}
        peak_rss = 0
        for round_number in range(1, arguments.rounds + 1):
            print(f"round {round_number}/{arguments.rounds} ...", file=sys.stderr)
            for name, scenario in scenarios:
                if name == "get":
                    service.reset_peak_rss()
                results[name].append(scenario())
                if name == "get":
                    peak_rss = max(peak_rss, service.peak_rss_bytes())

        print_report(summarize(results, None, peak_rss, startup, first_start, arguments))
        million = None
        if not arguments.skip_million:
            # The same listing just before and just after the table grows tenfold (the big
            # organization's rows unchanged), so that both are measured in the same conditions.
            before = [wrk(service.url, lua["list_created_at_asc"], arguments.seconds) for _ in range(arguments.rounds)]
            print("growing the table to 1,000,000 rows ...", file=sys.stderr)
            seed(database_url, TOTAL + 1, 1_000_000, big_org=False)
            wrk(service.url, lua["list_created_at_asc"], 2)  # warm the caches again
            million = (before, [wrk(service.url, lua["list_created_at_asc"], arguments.seconds) for _ in range(arguments.rounds)])

        report = summarize(results, million, peak_rss, startup, first_start, arguments)
        os.makedirs(os.path.dirname(arguments.output), exist_ok=True)
        with open(arguments.output, "w") as file:
            json.dump(report, file, indent=2)
        print_report(report)
        print(f"\nwritten to {arguments.output}", file=sys.stderr)
    finally:
        for started in services + ([service] if service else []):
            started.stop()
        cluster.stop()
        if not arguments.keep:
            shutil.rmtree(work, ignore_errors=True)


def median_of(runs: list[dict]) -> dict:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def summarize(results, million, peak_rss, startup, first_start, arguments) -> dict:
    m = {name: median_of(runs) for name, runs in results.items()}

    def rate(name):
        return m[name]["rps"] if name in m else float("nan")

    get_ceiling = 1 / (1 / rate("pg_get") + 1 / rate("healthz")) if "pg_get" in m and "healthz" in m else float("nan")
    ratios = {
        "get_vs_combined_ceiling": rate("get") / get_ceiling,
        "get_vs_pgbench": rate("get") / rate("pg_get"),
        "get@compare_vs_combined_ceiling": rate("get@compare") / get_ceiling,
        "get_cpu_vs_compare_cpu": (m["get"]["cpu_us_per_request"] / m["get@compare"]["cpu_us_per_request"]
                                   if "get" in m and "get@compare" in m else float("nan")),
        "list_created_at_asc_vs_pgbench": rate("list_created_at_asc") / rate("pg_list_created_at_asc"),
        "list_name_asc_vs_pgbench": rate("list_name_asc") / rate("pg_list_name_asc"),
        "create_vs_pgbench": rate("create") / rate("pg_create"),
        "list_images_vs_pgbench": rate("list_images") / rate("pg_list_images"),
        "get_image_vs_pgbench": rate("get_image") / rate("pg_get_image"),
        "list_tags_vs_pgbench": rate("list_tags") / rate("pg_list_tags"),
        "get_tag_vs_pgbench": rate("get_tag") / rate("pg_get_tag"),
        "create_idempotent_vs_create": rate("create_idempotent") / rate("create"),
        "list_page20_vs_page1_latency": (m["list_created_at_asc_page20"]["p50_ms"] / m["list_created_at_asc_page1"]["p50_ms"]
                                         if "list_created_at_asc_page1" in m and "list_created_at_asc_page20" in m
                                         else float("nan")),
        **deep_pages.ratios(m),
        **{f"{name[:-8]}_vs_compare": rate(name[:-8]) / rate(name) for name in m if name.endswith("@compare")},
        **{f"{name[:-8]}_p99_vs_compare": m[name[:-8]]["p99_ms"] / m[name]["p99_ms"]
           for name in m if name.endswith("@compare") and name[:-8] in m},
    }
    targets = {
        "get_vs_combined_ceiling": (">=", 0.85), "get_vs_pgbench": (">=", 0.22),
        "list_created_at_asc_vs_pgbench": (">=", 0.70), "list_name_asc_vs_pgbench": (">=", 0.70),
        "create_vs_pgbench": (">=", 0.70), "create_idempotent_vs_create": (">=", 0.80), "list_page20_vs_page1_latency": ("<=", 1.5),
        "list_images_vs_pgbench": (">=", 0.50), "get_image_vs_pgbench": (">=", 0.30),
        "list_tags_vs_pgbench": (">=", 0.50), "get_tag_vs_pgbench": (">=", 0.30),
        **deep_pages.TARGETS,
    }
    report = {
        "machine": {"cpus": os.cpu_count(), "seconds_per_run": arguments.seconds, "rounds": arguments.rounds,
                    "pool_size": arguments.pool_size, "read_connections": arguments.read_connections,
                    "list_connections": arguments.list_connections,
                    "event_loops": arguments.event_loops,
                    "load_average": os.getloadavg(),
                    "rows": TOTAL + deep_pages.DEEP, "organizations": ORGANIZATIONS, "big_organization": BIG},
        "scenarios": m, "runs": results, "get_combined_ceiling_rps": get_ceiling, "ratios": ratios,
        "peak_rss_mib_during_get": peak_rss / 1048576, "startup_to_ready_ms": startup * 1000,
        "first_startup_with_migrations_ms": first_start * 1000,
    }
    if million:
        at_100k, at_million = median_of(million[0]), median_of(million[1])
        report["list_at_100k_rows_before_growing"] = at_100k
        report["list_at_1m_rows"] = at_million
        ratios["list_latency_1m_vs_100k"] = at_million["p50_ms"] / at_100k["p50_ms"]
        targets["list_latency_1m_vs_100k"] = ("<=", 1.5)
    targets["peak_rss_mib_during_get"] = ("<=", 64)
    targets["startup_to_ready_ms"] = ("<=", 300)
    verdicts = {}
    for key, (sign, bound) in targets.items():
        value = ratios.get(key, report.get(key, float("nan")))
        verdicts[key] = {"value": value, "target": f"{sign} {bound}",
                         "met": value >= bound if sign == ">=" else value <= bound}  # NaN (not run) is never met
    report["targets"] = verdicts
    return report


def print_report(report):
    print(f"\n{'scenario':34} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'non-2xx':>9}")
    for name, figures in report["scenarios"].items():
        print(f"{name:34} {figures['rps']:10.0f} {figures['p50_ms']:9.2f} {figures['p99_ms']:9.2f} {figures['non_2xx']:9.0f}")
    for key, label in [("list_at_100k_rows_before_growing", "list_created_at_asc, 100k, again"),
                       ("list_at_1m_rows", "list_created_at_asc at 1M rows")]:
        if key in report:
            figures = report[key]
            print(f"{label:34} {figures['rps']:10.0f} {figures['p50_ms']:9.2f} {figures['p99_ms']:9.2f}")
    for name, figures in report["scenarios"].items():
        if "cpu_us_per_request" in figures:
            print(f"{name + ': registryd CPU per request':34} {figures['cpu_us_per_request']:10.1f} µs")
    print(f"\nGET combined ceiling 1/(1/P+1/H): {report['get_combined_ceiling_rps']:.0f} req/s")
    print(f"\n{'ratio without a target':48} {'value':>10}")
    for key, value in report["ratios"].items():
        if key not in report["targets"]:
            print(f"{key:48} {value:10.2f}")
    print(f"\n{'target':48} {'value':>10} {'goal':>10}  met")
    for key, verdict in report["targets"].items():
        print(f"{key:48} {verdict['value']:10.2f} {verdict['target']:>10}  {'yes' if verdict['met'] else 'NO'}")


if __name__ == "__main__":
    main()
