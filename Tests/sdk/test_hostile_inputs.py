"""Hostile clients while a well-behaved one keeps working.

A canary thread lists namespaces and fetches a namespace every few milliseconds throughout; the
attacks run beside it: truncated, oversized and malformed bodies, invalid UTF-8, huge numbers,
deep nesting, repeated and empty query parameters, header floods, slow clients and idle
connections. The canary must never see a wrong answer, and the service must answer correctly
afterwards.
"""

import json
import os
import socket
import threading
import time

import pytest

from conftest import start_registryd

PATH = "/registry/v1/regions/fr-par/namespaces"


@pytest.fixture(scope="module")
def hostile_target(service, key):
    if os.environ.get("REGISTRYD_URL"):
        yield service, key  # a running service, as it is configured
        return
    # A service of its own, with a short idle timeout so that slow clients are cut off quickly.
    own, process = start_registryd(HTTP_CONNECTION_TIMEOUT_S="2", HTTP_CONNECTION_LIMIT="2000")
    yield own, own.create_key()
    process.terminate()
    process.wait(timeout=15)
    assert process.returncode == 0


def address_of(service) -> tuple[str, int]:
    host_port = service.url.split("://", 1)[1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    return host, int(port)


def exchange(address: tuple[str, int], raw: bytes, timeout: float = 10.0) -> tuple[int | None, bytes]:
    """Sends raw bytes on a new connection, reads until it closes; returns (status, body)."""
    with socket.create_connection(address, timeout=timeout) as connection:
        try:
            connection.sendall(raw)
        except OSError:
            pass
        data = b""
        try:
            while True:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ")[1])
    except (IndexError, ValueError):
        status = None
    return status, body


def request(method: str, target: str, token: str, body: bytes = b"", extra: bytes = b"") -> bytes:
    return (f"{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Auth-Token: {token}\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body


class Canary(threading.Thread):
    def __init__(self, address: tuple[str, int], token: str, namespace_id: str):
        super().__init__(daemon=True)
        self.address, self.token, self.namespace_id = address, token, namespace_id
        self.stop = threading.Event()
        self.answers = 0
        self.failures: list[str] = []

    def run(self):
        while not self.stop.is_set():
            for target in (PATH, f"{PATH}/{self.namespace_id}"):
                try:
                    status, body = exchange(self.address, request("GET", target, self.token), timeout=5)
                    document = json.loads(body)
                    if status != 200 or ("namespaces" not in document and document.get("id") != self.namespace_id):
                        self.failures.append(f"{target}: {status} {body[:200]!r}")
                    self.answers += 1
                except Exception as error:  # noqa: BLE001 - any failure of the canary counts
                    self.failures.append(f"{target}: {error!r}")
            time.sleep(0.01)


def test_service_keeps_answering_under_hostile_input(hostile_target):
    service, key = hostile_target
    address, token = address_of(service), key.secret_key
    status, body = exchange(address, request("POST", PATH, token, b'{"name":"canary-ns"}'))
    assert status == 200, body
    canary = Canary(address, token, json.loads(body)["id"])
    canary.start()

    # Truncated bodies: a Content-Length promising more than is sent, then the client goes away.
    for _ in range(50):
        with socket.create_connection(address) as connection:
            connection.sendall(request("POST", PATH, token, b"")[:-2] + b"Content-Length: 500\r\n\r\n{\"name\":")

    # Oversized: 10 MiB declared and sent is refused at once with 413.
    status, body = exchange(address, request("POST", PATH, token, b"x" * (10 * 1024 * 1024)))
    assert status == 413 and json.loads(body)["type"] == "request_entity_too_large"

    # Invalid UTF-8, huge numbers, deep nesting, wrong shapes: 400 with the argument named.
    for payload, argument in [
        (b'{"name":"\xff\xfe\xfd"}', "body"),
        (b'{"name":"huge-number-ns","is_public":1e999999999}', "is_public"),
        (b'{"name":' + b"[" * 60000, "body"),
        (b'{"name":"\\ud800"}', "body"),
        (b"[]", "body"),
        (b"null", "body"),
        (b'{"name":"' + b"a" * 60000 + b'"}', "name"),
    ]:
        status, body = exchange(address, request("POST", PATH, token, payload))
        assert status == 400, (payload[:40], body)
        details = json.loads(body)["details"]
        assert any(detail["argument_name"] == argument for detail in details), (payload[:40], details)
    status, body = exchange(address, request("POST", PATH, token, b'{"name":"huge-unknown-ns","x":1e999999999,"y":-0.0e-99999}'))
    assert status == 200, body

    # Repeated and empty query parameters.
    assert exchange(address, request("GET", PATH + "?page=1&page=2", token))[0] == 400
    assert exchange(address, request("GET", PATH + "?page=&page_size=&order_by=&name=&project_id=", token))[0] == 200
    # Thousands of query parameters: always answered, 400 (more than 256) or 431 (head over 16 KiB).
    many = request("GET", PATH + "?" + "&".join(f"x{i}=1" for i in range(2000)), token)
    assert exchange(address, many)[0] in (400, 431)
    with socket.create_connection(address, timeout=10) as flooded:
        flooded.sendall(many)
        assert exchange(address, request("GET", PATH, token))[0] == 200
        answer = flooded.recv(65536)
        assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431")), answer[:40]

    # Header floods: thousands of headers, and one enormous header: 431, in JSON.
    flood = b"".join(b"X-Flood-%d: value\r\n" % index for index in range(5000))
    assert exchange(address, request("GET", PATH, token, extra=flood))[0] == 431
    huge = b"X-Huge: " + b"h" * 200_000 + b"\r\n"
    assert exchange(address, request("GET", PATH, token, extra=huge))[0] == 431

    # Slow clients: a byte every 100 ms on 50 connections, and 300 idle connections.
    slow = [socket.create_connection(address) for _ in range(50)]
    idle = [socket.create_connection(address) for _ in range(300)]
    partial = request("GET", PATH, token)
    for index in range(15):
        for connection in slow:
            try:
                connection.sendall(partial[index:index + 1])
            except OSError:
                pass
        time.sleep(0.1)
    time.sleep(2.5)  # past HTTP_CONNECTION_TIMEOUT_S: the server has closed them
    for connection in slow + idle:
        connection.close()

    canary.stop.set()
    canary.join(timeout=10)
    assert canary.failures == [], canary.failures[:5]
    assert canary.answers > 20

    # Afterwards: still correct, for a new namespace and a listing.
    status, body = exchange(address, request("POST", PATH, token, b'{"name":"after-the-storm"}'))
    assert status == 200, body
    status, body = exchange(address, request("GET", PATH + "?name=after-the-storm", token))
    assert status == 200 and json.loads(body)["total_count"] == 1
