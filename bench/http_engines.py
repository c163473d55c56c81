#!/usr/bin/env python3
"""The HTTP engine spike (issue 10): two registryd binaries side by side, in one command.

Starts a throwaway PostgreSQL cluster, migrates it, starts both binaries on their own ports and
runs wrk (64 keep-alive connections) against `GET /healthz` of each in interleaved rounds; then,
with --idle, opens N idle keep-alive connections to each and reports the RSS they cost.

  python3 bench/http_engines.py OLD_BINARY NEW_BINARY [--seconds 5] [--rounds 3] [--idle 10000]
"""
import argparse, os, re, resource, socket, statistics, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def start(binary: str, url: str, port: int):
    environment = dict(os.environ, DATABASE_URL=url, PORT=str(port), LISTEN_ADDRESS="127.0.0.1",
                       LOG_LEVEL="warning", MIGRATIONS_DIR=f"{ROOT}/migrations", HTTP_CONNECTION_LIMIT="12000",
                       HTTP_CONNECTION_TIMEOUT_S="600")
    started = time.monotonic()
    process = subprocess.Popen([binary, "serve"], env=environment, stderr=subprocess.DEVNULL)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if connection.recv(64).startswith(b"HTTP/1.1 200"):
                    return process, time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.002)


def wrk(port: int, seconds: int) -> float:
    output = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", f"http://127.0.0.1:{port}/healthz"],
                            capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))


def idle_cost(process, port: int, count: int) -> float:
    before = rss_kib(process.pid)
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        connections.append(connection)
    for connection in connections:
        connection.recv(4096)
    time.sleep(0.5)
    after = rss_kib(process.pid)
    for connection in connections:
        connection.close()
    return (after - before) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=int, default=0)
    arguments = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    cluster = tempfile.mkdtemp(prefix="registryd-engines-")
    url = subprocess.run([f"{ROOT}/scripts/pg-cluster.sh", "start", cluster, "--throwaway"],
                         capture_output=True, text=True, check=True).stdout.strip()
    processes = []
    try:
        subprocess.run([arguments.new, "migrate"], env=dict(os.environ, DATABASE_URL=url,
                       MIGRATIONS_DIR=f"{ROOT}/migrations"), check=True, capture_output=True)
        results = {}
        for name, binary, port in (("old", arguments.old, 18601), ("new", arguments.new, 18602)):
            process, ready = start(binary, url, port)
            processes.append(process)
            results[name] = {"port": port, "process": process, "ready_ms": ready * 1000, "rps": []}
        for _ in range(arguments.rounds):
            for name in ("old", "new"):
                results[name]["rps"].append(wrk(results[name]["port"], arguments.seconds))
        for name in ("old", "new"):
            result = results[name]
            line = f"{name}: /healthz {statistics.median(result['rps']):,.0f} req/s (rounds {', '.join(f'{r:,.0f}' for r in result['rps'])}); start-up to ready {result['ready_ms']:.0f} ms"
            if arguments.idle:
                line += f"; {arguments.idle} idle keep-alive connections: +{idle_cost(result['process'], result['port'], arguments.idle):.1f} MiB RSS"
            print(line)
        print(f"ratio new/old on /healthz: {statistics.median(results['new']['rps']) / statistics.median(results['old']['rps']):.2f}")
    finally:
        for process in processes:
            process.terminate()
            process.wait()
        subprocess.run([f"{ROOT}/scripts/pg-cluster.sh", "stop", cluster], check=False, capture_output=True)


if __name__ == "__main__":
    main()
