#!/usr/bin/env python3
"""Data plane figures for `make bench` (issue 11), each against its baseline on the same cores:

  token issuance   wrk against GET /auth/v1/regions/fr-par/token (Basic credentials, one push scope)
                   vs `openssl speed rsa2048` signs/s, as many processes as cores: target >= 0.5x
  event ingestion  wrk POSTing manifest push events (unique ids, 3 references each) to the receiver,
                   1 connection (the registry delivers in order, one event at a time) and 8 connections
                   (8 registries), target >= 1,000 events/s

    python3 bench/data_plane_bench.py [--seconds 5] [--binary PATH]   (default: builds release)

It prints the figures and writes them to bench-results/data_plane.json (`--data-plane-output`).
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench import ROOT, Cluster, psql, run  # noqa: E402


def wrk(url: str, script: str, seconds: int, connections: int) -> dict:
    """bench.wrk with as many wrk threads as connections allow (wrk needs connections >= threads)."""
    original = bench.run
    threads = str(min(2, connections))
    bench.run = lambda command, **kwargs: original([threads and ("-t" + threads) if part == "-t2" else part
                                                    for part in command], **kwargs)
    try:
        return bench.wrk(url, script, seconds, connections=connections)
    finally:
        bench.run = original


def openssl_sign_rate(seconds: int, processes: int) -> float:
    output = run(["openssl", "speed", "-seconds", str(seconds), "-multi", str(processes), "rsa2048"]).stdout
    line = [line for line in output.splitlines() if re.match(r"^\s*rsa\s+2048 bits", line)][-1]
    return float(line.split()[-2])  # sign/s, then verify/s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--binary")
    parser.add_argument("--data-plane-output", default=os.path.join(ROOT, "bench-results", "data_plane.json"))
    arguments, _ = parser.parse_known_args()  # make bench passes bench.py's options too
    binary = arguments.binary
    if not binary:
        run(["swift", "build", "-c", "release", "--product", "registryd"], cwd=ROOT)
        binary = run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT).stdout.strip() + "/registryd"
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)  # the cluster runs as postgres when we are root
        cluster = Cluster(os.path.join(directory, "pg"))
        url = cluster.start()
        process = None
        try:
            psql(url, "CREATE DATABASE plane")
            database = url.replace("/postgres?", "/plane?")
            key, cert = os.path.join(directory, "k.pem"), os.path.join(directory, "c.pem")
            run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                 "-days", "1", "-subj", "/CN=bench"])
            secret = "bench-secret-0123456789"
            environment = {"PATH": os.environ["PATH"], "DATABASE_URL": database, "MIGRATIONS_DIR": f"{ROOT}/migrations",
                           "PORT": "0", "LISTEN_ADDRESS": "127.0.0.1", "LOG_LEVEL": "warning",
                           "REGISTRY_TOKEN_KEY": key, "REGISTRY_TOKEN_CERT": cert, "REGISTRY_NOTIFY_SECRET": secret}
            run([binary, "migrate"], env=environment)
            output = run([binary, "api-key", "create", "--organization-id", "11111111-1111-4111-8111-111111111111"],
                         env=environment).stdout
            api_secret = re.search(r"secret_key:\s+(\S+)", output).group(1)
            for index in range(8):
                psql(database, "INSERT INTO namespaces (region, name, organization_id, project_id) VALUES "
                     f"('fr-par', 'bench-{index:02d}', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111')")
            environment["PORT"] = str(free_port())
            process = subprocess.Popen([binary, "serve"], env=environment, stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{environment['PORT']}"
            wait_for(base)
            basic = base64.b64encode(f"nologin:{api_secret}".encode()).decode()
            token_script = os.path.join(directory, "token.lua")
            with open(token_script, "w") as handle:
                handle.write(f'''request = function()
  return wrk.format("GET", "/auth/v1/regions/fr-par/token?service=rg.fr-par.scw.cloud&scope=repository:bench-00/app:pull,push",
                    {{["Authorization"] = "Basic {basic}"}})
end
''')
            event_scripts = []
            for run_name in ("one", "eight"):  # ids unique across the two runs too
                event_scripts.append(os.path.join(directory, f"events-{run_name}.lua"))
                with open(event_scripts[-1], "w") as handle:
                    handle.write(EVENTS_LUA.replace("SECRET", secret).replace("RUN", run_name))
            wrk(base, token_script, 1, connections=8)  # warm up
            tokens = wrk(base, token_script, arguments.seconds, connections=8)
            signs = openssl_sign_rate(arguments.seconds, cores)
            events_one = wrk(base, event_scripts[0], arguments.seconds, connections=1)
            events_eight = wrk(base, event_scripts[1], arguments.seconds, connections=8)
            applied = psql(database, "SELECT count(*) FROM registry_events")
        finally:
            if process:
                process.terminate()
                process.wait()
            cluster.stop()
    report = {
        "cores": cores,
        "token_rps": tokens["rps"], "token_non_2xx": tokens["non_2xx"], "openssl_rsa2048_sign_per_s": signs,
        "token_vs_openssl": tokens["rps"] / signs,
        "events_per_s_1_connection": events_one["rps"], "events_per_s_8_connections": events_eight["rps"],
        "event_non_2xx": events_one["non_2xx"] + events_eight["non_2xx"],
        # wrk counts answered requests only; the receiver may have applied a few more when wrk stopped
        "events_recorded": int(applied), "events_answered": events_one["requests"] + events_eight["requests"],
    }
    print(json.dumps(report, indent=2))
    os.makedirs(os.path.dirname(arguments.data_plane_output), exist_ok=True)
    with open(arguments.data_plane_output, "w") as handle:
        json.dump(report, handle, indent=2)
    print(f"written to {arguments.data_plane_output}", file=sys.stderr)


EVENTS_LUA = '''
local counter = 0
local thread_id = 0
local threads = {}
setup = function(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
init = function(args)
  thread_id = tid
end
request = function()
  counter = counter + 1
  local id = "RUN-" .. thread_id .. "-" .. counter
  local namespace = string.format("bench-%02d", (counter + thread_id) % 8)
  local digest = string.format("sha256:%064x", counter * 7919 + thread_id)
  local body = '{"events":[{"id":"' .. id .. '","action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json",' ..
    '"digest":"' .. digest .. '","repository":"' .. namespace .. '/app' .. (counter % 50) .. '","tag":"v' .. (counter % 10) .. '",' ..
    '"references":[{"mediaType":"application/vnd.oci.image.config.v1+json","size":1500,"digest":"sha256:' .. string.rep("c", 64) .. '"},' ..
    '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":3000000,"digest":"sha256:' .. string.rep("a", 64) .. '"},' ..
    '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":' .. counter .. ',"digest":"' .. digest:gsub("sha256:", "sha256:f", 1):sub(1, 71) .. '"}]}}]}'
  return wrk.format("POST", "/internal/v1/regions/fr-par/registry-events",
    {["Authorization"] = "Bearer SECRET", ["Content-Type"] = "application/vnd.docker.distribution.events.v1+json"}, body)
end
'''


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(base: str):
    import time
    import urllib.request
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("registryd did not start")


if __name__ == "__main__":
    main()
