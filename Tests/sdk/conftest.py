"""Fixtures of the SDK compatibility suite: a running registryd and keys for it.

Against a running service, set REGISTRYD_URL plus SCW_ACCESS_KEY, SCW_SECRET_KEY and
SCW_DEFAULT_ORGANIZATION_ID; with DATABASE_URL and REGISTRYD_BINARY too, tests that need an
organization of their own create more keys (Tests/sdk/run-against-url.sh, which the docker compose
`tests` service runs, sets all of them). Otherwise the suite starts registryd itself:
REGISTRYD_BINARY (default .build/debug/registryd) on a fresh database created in the cluster of
REGISTRYD_TEST_DATABASE_URL, with keys made by `registryd api-key create`.
"""

import os
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@dataclass
class Key:
    access_key: str
    secret_key: str
    organization_id: str
    project_id: str


@dataclass
class Service:
    url: str
    database_url: str | None
    binary: str | None

    def create_key(self, organization_id: str | None = None, project_id: str | None = None) -> Key:
        if self.binary is None:
            raise RuntimeError("keys can only be created for a service this suite started")
        organization_id = organization_id or str(uuid.uuid4())
        arguments = [self.binary, "api-key", "create", "--organization-id", organization_id]
        if project_id:
            arguments += ["--project-id", project_id]
        output = subprocess.run(arguments, env=_environment(self.database_url), check=True,
                                capture_output=True, text=True).stdout
        return Key(
            access_key=re.search(r"access_key:\s+(\S+)", output).group(1),
            secret_key=re.search(r"secret_key:\s+(\S+)", output).group(1),
            organization_id=organization_id,
            project_id=project_id or organization_id,
        )


def _environment(database_url: str, **extra: str) -> dict:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url,
                   "MIGRATIONS_DIR": os.path.join(ROOT, "migrations"), "LOG_LEVEL": "warning"}
    environment.update(extra)
    return environment


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _create_database(admin_url: str) -> str:
    name = "sdk_" + uuid.uuid4().hex
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    parts = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def start_registryd(**extra_environment: str):
    """Starts registryd on a fresh database; returns (Service, process)."""
    admin_url = os.environ.get("REGISTRYD_TEST_DATABASE_URL")
    if not admin_url:
        pytest.exit("set REGISTRYD_URL (and keys) or REGISTRYD_TEST_DATABASE_URL; `make test` does", returncode=2)
    binary = os.environ.get("REGISTRYD_BINARY", os.path.join(ROOT, ".build", "debug", "registryd"))
    database_url = _create_database(admin_url)
    port = _free_port()
    environment = _environment(database_url, PORT=str(port), LISTEN_ADDRESS="127.0.0.1", **extra_environment)
    process = subprocess.Popen([binary, "serve"], env=environment, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"registryd exited: {process.stderr.read()}")
        try:
            urllib.request.urlopen(url + "/registry/v1/openapi.json", timeout=1).read()
            return Service(url=url, database_url=database_url, binary=binary), process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("registryd did not start listening within 30 seconds")


@pytest.fixture(scope="session")
def service():
    if os.environ.get("REGISTRYD_URL"):
        can_create_keys = os.environ.get("DATABASE_URL") and os.environ.get("REGISTRYD_BINARY")
        yield Service(url=os.environ["REGISTRYD_URL"].rstrip("/"),
                      database_url=os.environ.get("DATABASE_URL") if can_create_keys else None,
                      binary=os.environ.get("REGISTRYD_BINARY") if can_create_keys else None)
        return
    started, process = start_registryd()
    yield started
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="session")
def key(service):
    if os.environ.get("SCW_SECRET_KEY") and os.environ.get("REGISTRYD_URL"):
        organization = os.environ["SCW_DEFAULT_ORGANIZATION_ID"]
        return Key(os.environ["SCW_ACCESS_KEY"], os.environ["SCW_SECRET_KEY"], organization,
                   os.environ.get("SCW_DEFAULT_PROJECT_ID", organization))
    return service.create_key()
