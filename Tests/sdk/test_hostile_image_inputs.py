"""Hostile input on the image and tag routes (issue 12): every answer is a JSON 4xx that names
the problem, never a 5xx or a dropped connection, and the service keeps answering; an image
inserted as the registry's events would leave it is the target, so no registry is needed."""

import json
import shutil
import subprocess
import uuid

from test_hostile_inputs import address_of, exchange, request

BASE = "/registry/v1/regions/fr-par"


def test_image_and_tag_routes_answer_hostile_input_with_json_errors(service, key):
    address = address_of(service)
    token = key.secret_key
    status, body = exchange(address, request("POST", f"{BASE}/namespaces", token, b'{"name":"hostile-images"}'))
    assert status == 200, body
    namespace = json.loads(body)["id"]
    image = str(uuid.uuid4())
    # Inserted as the registry's events would leave it, where the suite reaches the database
    # (the compose tests image has no psql: the routes are then checked without an image).
    seeded = bool(service.database_url and shutil.which("psql"))
    if seeded:
        subprocess.run(["psql", service.database_url, "-qc",
                        f"INSERT INTO images (id, namespace_id, name) VALUES ('{image}', '{namespace}', 'app');"
                        f"INSERT INTO tags (image_id, name, digest) VALUES ('{image}', 'v1', 'sha256:00')"], check=True)
    item = f"{BASE}/images/{image}"
    cases = [
        ("PATCH", item, b'{"visibility":', 400),
        ("PATCH", item, b'{"visibility":"\xff\xfe"}', 400),
        ("PATCH", item, b'[' * 30_000 + b']' * 30_000, 400),
        ("PATCH", item, b'x' * 100_000, 413),
        ("PATCH", item, b'{"visibility":1e999999999}', 400),
        ("PATCH", item, b'{"visibility":"public\\u0000"}', 400),
        ("PATCH", item, b'{"visibility":["public"]}', 400),
        ("PATCH", item, b'"public"', 400),
        ("GET", f"{BASE}/images/" + "a" * 5000, b"", 400),
        ("GET", f"{BASE}/images/{image.upper()}x", b"", 400),
        ("GET", f"{BASE}/images?name=%00", b"", 400),  # NUL in a query value: invalid_arguments on name
        ("GET", f"{BASE}/images?name=" + "%ff" * 3000, b"", 200),
        ("GET", f"{BASE}/images?page=99999999999999999999999", b"", 400),
        ("GET", f"{BASE}/images?page_size=-1", b"", 400),
        ("GET", f"{BASE}/images?namespace_id={namespace}&namespace_id={namespace}", b"", 400),
        ("GET", f"{BASE}/images?order_by=name_asc;DROP TABLE images", b"", 400),
        ("GET", f"{item}/tags?name=%00&page_size=0", b"", 400),
        ("DELETE", f"{BASE}/tags/{uuid.uuid4()}?force=%00", b"", 400),  # NUL in a query value: invalid_arguments on force
        ("DELETE", f"{BASE}/tags/{uuid.uuid4()}?force=yes", b"", 400),
        ("DELETE", f"{BASE}/tags/{uuid.uuid4()}?force=true&force=false", b"", 400),
        ("DELETE", f"{BASE}/tags/{uuid.uuid4()}?force=true", b"", 404),
        ("PUT", item, b"{}", 405),
        ("POST", f"{BASE}/images", b'{"name":"app"}', 405),
    ]
    for method, target, body, expected in cases:
        status, answer = exchange(address, request(method, target, token, body))
        assert status == expected, (method, target[:80], body[:40], status, answer[:300])
        json.loads(answer)  # always JSON
    status, answer = exchange(address, request("GET", f"{BASE}/images?namespace_id={namespace}", token))
    assert status == 200 and json.loads(answer)["total_count"] == (1 if seeded else 0)
    if seeded:
        status, answer = exchange(address, request("GET", item, token))
        assert status == 200 and json.loads(answer)["tags"] == ["v1"]
