"""Schemathesis against the live service and the OpenAPI document it serves.

Bounded so CI stays short: SCHEMATHESIS_MAX_EXAMPLES cases per operation (default 50), with a
fixed seed (SCHEMATHESIS_SEED, default 1) so a failure reproduces; set another seed to explore.
It fails on any 5xx, any status, header, body or content type the document does not describe,
any schema-violating input the service accepts, and any endpoint that ignores authentication.
"""

import shutil
import os
import subprocess
import sys
import uuid

import pytest

CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "unsupported_method",
    "missing_required_header",
])


def test_schemathesis_finds_nothing(service, tmp_path):
    key = service.create_key() if service.binary else None
    token = key.secret_key if key else os.environ["SCW_SECRET_KEY"]
    run_schemathesis(service, token, tmp_path, [])


def test_schemathesis_on_an_existing_image_and_tag(service, tmp_path):
    """Random ids only reach the 404 of the image and tag routes: here their ids are those of an
    image and a tag of the caller (inserted as the registry's events would leave them), so the
    fuzzing reaches the answers and the PATCH and DELETE paths (without a registry, a deleted
    image or tag stays `deleting`)."""
    if not (service.binary and service.database_url and shutil.which("psql")):
        pytest.skip("needs a service this suite started and psql (the compose tests image has none)")
    key = service.create_key()
    namespace = f"fuzz-{uuid.uuid4().hex[:10]}"
    image, tag = str(uuid.uuid4()), str(uuid.uuid4())
    subprocess.run(["psql", service.database_url, "-qc", f"""
        INSERT INTO namespaces (region, name, organization_id, project_id)
        VALUES ('fr-par', '{namespace}', '{key.organization_id}', '{key.project_id}');
        INSERT INTO images (id, namespace_id, name) SELECT '{image}', id, 'app' FROM namespaces WHERE name = '{namespace}';
        INSERT INTO tags (id, image_id, name, digest) VALUES ('{tag}', '{image}', 'v1', 'sha256:00');
        INSERT INTO tags (image_id, name, digest) VALUES ('{image}', 'v2', 'sha256:00')"""], check=True)
    (tmp_path / "schemathesis.toml").write_text(
        f'[parameters]\n"path.image_id" = "{image}"\n"path.tag_id" = "{tag}"\n"path.region" = "fr-par"\n')
    run_schemathesis(service, key.secret_key, tmp_path, ["--include-path-regex", "/(images|tags)"],
                     config=str(tmp_path / "schemathesis.toml"))
    # the fuzzing reached the real image: its DELETE answered 200 and marked it
    status = subprocess.run(["psql", service.database_url, "-tAqc", f"SELECT status FROM images WHERE id = '{image}'"],
                            check=True, capture_output=True, text=True).stdout.strip()
    assert status == "deleting"


def run_schemathesis(service, token, tmp_path, extra, config=None):
    schemathesis = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    command = [schemathesis] + (["--config-file", config] if config else []) + [
        "run", f"{service.url}/registry/v1/openapi.json",
        "--header", f"X-Auth-Token: {token}",
        "--checks", CHECKS,
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "50"),
        "--seed", os.environ.get("SCHEMATHESIS_SEED", "1"),
        "--request-timeout", "10",
        "--generation-database", "none",
        "--no-color",
    ] + extra
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-4000:]
