#!/usr/bin/env python3
"""Change-event webhook figures for `make bench` (issue 14, part 4):

  delivery throughput  a backlog of --events audit rows inserted in one statement (1,000 resources),
                       timed until a local receiver (Python, verifying every signature with hmac)
                       has all of them: events/s delivered by one endpoint's worker; then a fifth
                       as many on one resource (each event waits for the one before it)
  lag under create     wrk runs the create benchmark (64 connections) in rounds alternating without and
                       with the webhook (the cost on the write path, interleaved), while the receiver
                       records each event's delay (arrival minus the change's audit time) and /metrics
                       is sampled for the backlog; then the time to drain what is left

    python3 bench/webhook_bench.py [--seconds 5] [--rounds 2] [--events 10000] [--binary PATH]   (default: builds release)
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import ROOT, Cluster, psql, run  # noqa: E402
from data_plane_bench import free_port, wait_for  # noqa: E402

SECRET = "bench-webhook-secret-0123456789"
ORGANIZATION = "11111111-1111-4111-8111-111111111111"


class Receiver(BaseHTTPRequestHandler):
    """Records (event id, arrival, audit time, signature ok) per POST; answers 200."""
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        arrived = time.time()
        fields = dict(part.split("=", 1) for part in self.headers.get("Registryd-Signature", "").split(","))
        expected = hmac.new(SECRET.encode(), fields.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
        event = json.loads(body)
        at = datetime.strptime(event["at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
        with Receiver.lock:
            Receiver.received.append((event["id"], arrived, at, hmac.compare_digest(expected, fields.get("v1", ""))))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def metric(base: str, name: str) -> float:
    text = urllib.request.urlopen(base + "/metrics", timeout=2).read().decode()
    match = re.search(rf'^{name}{{endpoint="bench"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def wait_until_received(count: int, timeout: float) -> float:
    """Seconds until the receiver holds `count` distinct events."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with Receiver.lock:
            if len({entry[0] for entry in Receiver.received}) >= count:
                return time.monotonic() - started
        time.sleep(0.01)
    raise RuntimeError(f"the receiver did not get {count} events within {timeout} s")


samples = []


def sample(base: str, done: threading.Event):
    """Samples the endpoint's backlog gauges from /metrics every 250 ms until `done`."""
    while not done.is_set():
        try:
            samples.append((metric(base, "registryd_webhook_pending_events"),
                            metric(base, "registryd_webhook_oldest_pending_age_seconds")))
        except OSError:
            pass
        time.sleep(0.25)


def percentile(values: list, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--binary")
    arguments, _ = parser.parse_known_args()  # make bench passes bench.py's options too
    binary = arguments.binary
    if not binary:
        run(["swift", "build", "-c", "release", "--product", "registryd"], cwd=ROOT)
        binary = run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT).stdout.strip() + "/registryd"
    creates, after_load, received = {"plain": [], "hooks": []}, [], []
    hot_events, hot_drain, hot_ids = 0, 0.0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)  # the cluster runs as postgres when we are root
        cluster = Cluster(os.path.join(directory, "pg"))
        url = cluster.start()
        process = None
        try:
            psql(url, "CREATE DATABASE hooks")
            database = url.replace("/postgres?", "/hooks?")
            environment = {"PATH": os.environ["PATH"], "DATABASE_URL": database, "MIGRATIONS_DIR": f"{ROOT}/migrations",
                           "PORT": str(free_port()), "LISTEN_ADDRESS": "127.0.0.1", "LOG_LEVEL": "warning",
                           "WEBHOOK_URLS": f"bench=http://127.0.0.1:{server.server_address[1]}/hooks",
                           "WEBHOOK_SECRET_BENCH": SECRET, "DB_WRITES_PER_ORG": "0", "NAMESPACE_QUOTA": "100000000"}
            run([binary, "migrate"], env=environment)
            output = run([binary, "api-key", "create", "--organization-id", ORGANIZATION], env=environment).stdout
            token = re.search(r"secret_key:\s+(\S+)", output).group(1)
            base = f"http://127.0.0.1:{environment['PORT']}"
            plain = {name: value for name, value in environment.items() if not name.startswith("WEBHOOK_")}

            def start(variables):
                started = subprocess.Popen([binary, "serve"], env=variables, stderr=subprocess.DEVNULL)
                wait_for(base)
                return started

            def stop(started):
                started.terminate()
                started.wait()

            # Throughput: a backlog inserted at once, drained by the endpoint's worker.
            process = start(environment)
            psql(database, "INSERT INTO audit_log (organization_id, request_id, action, resource_type, resource_id, after) "
                 f"SELECT '{ORGANIZATION}', 'bench', 'namespace.update', 'namespace', 'bulk-' || (g % 1000), "
                 f"jsonb_build_object('n', g) FROM generate_series(1, {arguments.events}) g")
            drain = wait_until_received(arguments.events, timeout=600)
            # One busy resource: every event behind the previous one of the same namespace.
            with Receiver.lock:
                Receiver.received.clear()
            hot_events = arguments.events // 5
            psql(database, "INSERT INTO audit_log (organization_id, request_id, action, resource_type, resource_id, after) "
                 f"SELECT '{ORGANIZATION}', 'bench', 'namespace.update', 'namespace', 'hot', "
                 f"jsonb_build_object('n', g) FROM generate_series(1, {hot_events}) g")
            hot_drain = wait_until_received(hot_events, timeout=600)
            with Receiver.lock:
                hot_ids = [int(entry[0]) for entry in Receiver.received]
                Receiver.received.clear()
            stop(process)
            process = None

            # Lag under the create benchmark, in rounds alternating without and with the webhook.
            script = os.path.join(directory, "create.lua")
            with open(script, "w") as handle:
                handle.write(CREATE_LUA.replace("TOKEN", token))
            for round_index in range(arguments.rounds):
                for mode in ("plain", "hooks"):
                    process = start(plain if mode == "plain" else environment)
                    if mode == "plain":
                        creates[mode].append(bench.wrk(base, script, arguments.seconds))
                        stop(process)
                        continue
                    with Receiver.lock:
                        Receiver.received.clear()
                    first = int(psql(database, "SELECT COALESCE(max(id), 0) FROM audit_log"))
                    sampling = threading.Event()
                    sampler = threading.Thread(target=sample, args=(base, sampling))
                    sampler.start()
                    creates[mode].append(bench.wrk(base, script, arguments.seconds))
                    created = int(psql(database, f"SELECT count(*) FROM audit_log WHERE id > {first}"))
                    after_load.append(wait_until_received(created, timeout=600))
                    sampling.set()
                    sampler.join()
                    with Receiver.lock:
                        received.extend(Receiver.received)
                    stop(process)
            process = None
        finally:
            if process:
                process.terminate()
                process.wait()
            cluster.stop()
            server.shutdown()
    delays = [(arrived - at) * 1000 for _, arrived, at, _ in received]
    plain_rps = statistics.median(run["rps"] for run in creates["plain"])
    hooks_rps = statistics.median(run["rps"] for run in creates["hooks"])
    report = {
        "backlog_events": arguments.events, "backlog_drain_s": round(drain, 3),
        "delivered_per_s": round(arguments.events / drain, 1),
        "one_resource_events": hot_events, "one_resource_delivered_per_s": round(hot_events / hot_drain, 1),
        "one_resource_in_order": hot_ids == sorted(hot_ids),
        "create_rps_without_webhook": [run["rps"] for run in creates["plain"]],
        "create_rps_with_webhook": [run["rps"] for run in creates["hooks"]],
        "create_with_vs_without_webhook": round(hooks_rps / plain_rps, 3),
        "create_non_2xx": sum(run["non_2xx"] for mode in creates for run in creates[mode]),
        "events_under_load": len(received),
        "delivery_delay_ms_p50": round(percentile(delays, 0.5), 1), "delivery_delay_ms_p99": round(percentile(delays, 0.99), 1),
        "delivery_delay_ms_max": round(max(delays, default=0), 1),
        "max_pending_events_seen": max((pending for pending, _ in samples), default=0),
        "max_oldest_pending_age_s_seen": max((age for _, age in samples), default=0),
        "drain_after_load_s": [round(value, 3) for value in after_load],
        "bad_signatures": sum(1 for entry in received if not entry[3]),
    }
    print(json.dumps(report, indent=2))


CREATE_LUA = '''
local counter = 0
local thread_id = 0
local threads = {}
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
init = function(args)
  thread_id = tid
  math.randomseed(os.time() * 1000 + thread_id)
end
request = function()
  counter = counter + 1
  local name = string.format("hook-%d-%d-%d", thread_id, counter, math.random(1, 1000000000))
  return wrk.format("POST", "/registry/v1/regions/fr-par/namespaces",
    {["X-Auth-Token"] = "TOKEN", ["Content-Type"] = "application/json"}, '{"name":"' .. name .. '","description":"bench"}')
end
'''


if __name__ == "__main__":
    main()
