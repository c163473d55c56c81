"""A real data plane for the tests: registryd with a signing key, and CNCF distribution
(`docker-registry`) configured by `registryd registry-config`, pushed to and pulled from with skopeo.

Each registry gets a free loopback port and its own storage; skopeo runs with a HOME of its own
(its blob-info cache would otherwise trigger cross-repository mounts between tests) and an auth
file of its own (`skopeo login` would otherwise leave credentials behind for every later run).
"""

import base64
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import ROOT, _create_database, _environment, _free_port

TOOLS = ["docker-registry", "skopeo", "openssl"]


def require_tools():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"data plane tests need {', '.join(missing)} (scripts/install-deps.sh installs them)")


def poll(check, timeout=20.0, what="condition"):
    """Calls `check` until it returns a truthy value, or fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")


def jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class Plane:
    """registryd (data plane on) and one registry per region asked for, in `directory`."""

    def __init__(self, directory: str, purge_interval_ms: str = "60000", reconciled_regions: tuple = (), log_level="warning"):
        """`reconciled_regions`: regions whose registry this registryd reconciles and deletes from."""
        require_tools()
        self.directory = directory
        self.binary = os.environ.get("REGISTRYD_BINARY", os.path.join(ROOT, ".build", "debug", "registryd"))
        self.key, self.cert = os.path.join(directory, "token.key"), os.path.join(directory, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=registryd-test"], check=True, capture_output=True)
        self.secret = secrets.token_hex(16)
        self.home = os.path.join(directory, "home")
        os.makedirs(self.home)
        admin_url = os.environ.get("REGISTRYD_TEST_DATABASE_URL")
        if not admin_url:
            pytest.skip("needs REGISTRYD_TEST_DATABASE_URL (make test sets it)")
        self.database_url = _create_database(admin_url)
        self.processes = []
        self.purge_interval_ms = purge_interval_ms
        self.log_level = log_level
        self.registry_ports = {region: _free_port() for region in reconciled_regions}
        urls = ",".join(f"{region}=http://127.0.0.1:{port}" for region, port in self.registry_ports.items())
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.registryd = self.spawn_registryd(self.port, **({"REGISTRY_URLS": urls} if urls else {}))
        self.registries = {}

    def data_plane_environment(self, **extra):
        return _environment(self.database_url, REGISTRY_TOKEN_KEY=self.key, REGISTRY_TOKEN_CERT=self.cert,
                            REGISTRY_NOTIFY_SECRET=self.secret, LISTEN_ADDRESS="127.0.0.1",
                            PURGE_INTERVAL_MS=self.purge_interval_ms, **dict({"LOG_LEVEL": self.log_level}, **extra))

    def spawn_registryd(self, port: int, **extra):
        """registryd on `port` over this plane's database; waits until it answers."""
        environment = self.data_plane_environment(PORT=str(port), **extra)
        log = open(os.path.join(self.directory, f"registryd-{port}.log"), "w")  # a pipe nobody reads could fill up
        process = subprocess.Popen([self.binary, "serve"], env=environment, stderr=log)
        self.processes.append(process)
        poll(lambda: self._answers(f"http://127.0.0.1:{port}/registry/v1/openapi.json", process), 30, "registryd listening")
        return process

    def start_registry(self, region: str, notify_url: str | None = None) -> str:
        """docker-registry for `region` configured by registryd registry-config; returns its host:port."""
        port = self.registry_ports.get(region) or _free_port()
        storage = os.path.join(self.directory, f"storage-{region}")
        config = subprocess.run(
            [self.binary, "registry-config", "--region", region, "--listen", f"127.0.0.1:{port}",
             "--storage", storage, "--registryd-url", notify_url or self.url],
            env=self.data_plane_environment(), check=True, capture_output=True, text=True).stdout
        if notify_url:  # the token realm stays on this plane's registryd; only events go elsewhere
            config = config.replace(f'{notify_url}/auth/', f'{self.url}/auth/')
        path = os.path.join(self.directory, f"registry-{region}.yml")
        with open(path, "w") as handle:
            handle.write(config)
        log = open(os.path.join(self.directory, f"registry-{region}.log"), "w")
        process = subprocess.Popen(["docker-registry", "serve", path], stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        poll(lambda: self._answers(f"http://127.0.0.1:{port}/v2/", process, expect=401), 30, "registry listening")
        self.registries[region] = f"127.0.0.1:{port}"
        return self.registries[region]

    @staticmethod
    def _answers(url, process, expect=200):
        if process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            return urllib.request.urlopen(url, timeout=1).status == expect
        except urllib.error.HTTPError as error:
            return error.code == expect
        except OSError:
            return False

    def logs(self) -> str:
        """Everything the registryd processes of this plane logged."""
        return "".join(open(os.path.join(self.directory, name)).read()
                       for name in sorted(os.listdir(self.directory)) if name.startswith("registryd-"))

    def stop(self):
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    # MARK: - Clients

    def create_key(self, organization_id=None, project_id=None) -> dict:
        organization_id = organization_id or str(uuid.uuid4())
        arguments = [self.binary, "api-key", "create", "--organization-id", organization_id]
        if project_id:
            arguments += ["--project-id", project_id]
        output = subprocess.run(arguments, env=_environment(self.database_url), check=True,
                                capture_output=True, text=True).stdout
        secret = next(line.split()[1] for line in output.splitlines() if line.startswith("secret_key:"))
        access = next(line.split()[1] for line in output.splitlines() if line.startswith("access_key:"))
        return {"secret": secret, "access": access, "organization_id": organization_id,
                "project_id": project_id or organization_id}

    def api(self, method, path, key=None, body=None, headers=None):
        request = urllib.request.Request(self.url + path, method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        if key:
            request.add_header("X-Auth-Token", key["secret"])
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def namespace(self, key, name, region="fr-par", **fields):
        status, body = self.api("POST", f"/registry/v1/regions/{region}/namespaces", key, dict(name=name, **fields))
        assert status == 200, body
        return body

    def get_namespace(self, key, namespace):
        return self.api("GET", f"/registry/v1/regions/{namespace['region']}/namespaces/{namespace['id']}", key)[1]

    def sql(self, statement: str) -> str:
        return subprocess.run(["psql", self.database_url, "-tAqc", statement], check=True,
                              capture_output=True, text=True).stdout.strip()

    def skopeo(self, *arguments) -> subprocess.CompletedProcess:
        # skopeo login stores credentials in REGISTRY_AUTH_FILE, else in ${XDG_RUNTIME_DIR:-/run/containers/$UID}
        # for every later skopeo run on the machine: keep them in this plane, or an "anonymous" pull is not.
        environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                       "REGISTRY_AUTH_FILE": os.path.join(self.home, "auth.json"),
                       "XDG_RUNTIME_DIR": os.path.join(self.home, "run")}
        return subprocess.run(["skopeo", *arguments], env=environment, capture_output=True, text=True, timeout=60)

    def push(self, layout, tag, repository, key=None, region="fr-par", all_images=False):
        arguments = ["copy", "--dest-tls-verify=false"] + (["--all"] if all_images else [])
        if key:
            arguments += ["--dest-creds", f"nologin:{key['secret']}"]
        return self.skopeo(*arguments, f"oci:{layout.directory}:{tag}",
                           f"docker://{self.registries[region]}/{repository}:{tag}")

    def inspect(self, repository, tag, key=None, region="fr-par"):
        arguments = ["inspect", "--tls-verify=false"]
        if key:
            arguments += ["--creds", f"nologin:{key['secret']}"]
        return self.skopeo(*arguments, f"docker://{self.registries[region]}/{repository}:{tag}")

    def image_size(self, namespace, image):
        return self.sql(f"SELECT size FROM images WHERE namespace_id = '{namespace['id']}' AND name = '{image}'")
