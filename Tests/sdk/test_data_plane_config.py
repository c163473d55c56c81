"""Issue 11: the data plane's configuration: `registryd registry-config` and the REGISTRY_*
variables refuse bad input with a message naming the variable, and never print key material."""

import os
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, _free_port, start_registryd
from data_plane import require_tools

BINARY = os.environ.get("REGISTRYD_BINARY", os.path.join(ROOT, ".build", "debug", "registryd"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    require_tools()
    directory = tmp_path_factory.mktemp("keys")
    key, cert, ec = (str(directory / name) for name in ("k.pem", "c.pem", "ec.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=t"], check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ec],
                   check=True, capture_output=True)
    return {"key": key, "cert": cert, "ec": ec}


def registryd(arguments, **environment):
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MIGRATIONS_DIR": os.path.join(ROOT, "migrations")}
    return subprocess.run([BINARY, *arguments], env=dict(base, **environment), capture_output=True, text=True, timeout=30)


CONFIG = ["registry-config", "--region", "fr-par", "--listen", "127.0.0.1:5000", "--storage", "/tmp/s",
          "--registryd-url", "http://127.0.0.1:8080"]


def test_registry_config_needs_its_options_and_variables(keys):
    good = registryd(CONFIG, REGISTRY_TOKEN_CERT=keys["cert"], REGISTRY_NOTIFY_SECRET="0123456789abcdef")
    assert good.returncode == 0 and "rootcertbundle: \"" + keys["cert"] + "\"" in good.stdout
    assert "service: \"rg.fr-par.scw.cloud\"" in good.stdout
    assert registryd(CONFIG[:3], REGISTRY_TOKEN_CERT=keys["cert"]).returncode == 64
    missing_cert = registryd(CONFIG, REGISTRY_NOTIFY_SECRET="0123456789abcdef")
    assert missing_cert.returncode == 1 and "REGISTRY_TOKEN_CERT" in missing_cert.stderr
    not_a_cert = registryd(CONFIG, REGISTRY_TOKEN_CERT=keys["key"], REGISTRY_NOTIFY_SECRET="0123456789abcdef")
    assert not_a_cert.returncode == 1 and "REGISTRY_TOKEN_CERT" in not_a_cert.stderr and "PRIVATE" not in not_a_cert.stderr
    short_secret = registryd(CONFIG, REGISTRY_TOKEN_CERT=keys["cert"], REGISTRY_NOTIFY_SECRET="short")
    assert short_secret.returncode == 1 and "REGISTRY_NOTIFY_SECRET" in short_secret.stderr
    wrong_region = registryd(["registry-config", "--region", "mars-1"] + CONFIG[3:], REGISTRY_TOKEN_CERT=keys["cert"],
                             REGISTRY_NOTIFY_SECRET="0123456789abcdef")
    assert wrong_region.returncode == 64


def test_realm_url_and_secret_file_for_compose(keys, tmp_path):
    """docker-compose.yml: the registry posts events to http://registryd:8080 while clients on the
    host get tokens from the published port; the secret comes from a file a container made."""
    secret_file = tmp_path / "notify-secret"
    secret_file.write_text("0123456789abcdef0123\n")
    made = registryd(CONFIG[:-1] + ["http://registryd:8080", "--realm-url", "http://localhost:18080/"],
                     REGISTRY_TOKEN_CERT=keys["cert"], REGISTRY_NOTIFY_SECRET_FILE=str(secret_file))
    assert made.returncode == 0, made.stderr
    assert 'realm: "http://localhost:18080/auth/v1/regions/fr-par/token"' in made.stdout
    assert 'url: "http://registryd:8080/internal/v1/regions/fr-par/registry-events"' in made.stdout
    assert 'Authorization: ["Bearer 0123456789abcdef0123"]' in made.stdout
    assert registryd(CONFIG + ["--realm-url", "ftp://x"], REGISTRY_TOKEN_CERT=keys["cert"],
                     REGISTRY_NOTIFY_SECRET_FILE=str(secret_file)).returncode == 64
    missing = registryd(CONFIG, REGISTRY_TOKEN_CERT=keys["cert"], REGISTRY_NOTIFY_SECRET_FILE=str(tmp_path / "none"))
    assert missing.returncode == 1 and "REGISTRY_NOTIFY_SECRET_FILE" in missing.stderr
    secret_file.write_text("short\n")
    short = registryd(CONFIG, REGISTRY_TOKEN_CERT=keys["cert"], REGISTRY_NOTIFY_SECRET_FILE=str(secret_file))
    assert short.returncode == 1 and "REGISTRY_NOTIFY_SECRET" in short.stderr


@pytest.mark.parametrize("variables,named", [
    ({"REGISTRY_TOKEN_KEY": "ec"}, "REGISTRY_TOKEN_KEY"),
    ({"REGISTRY_TOKEN_KEY": "cert"}, "REGISTRY_TOKEN_KEY"),
    ({"REGISTRY_TOKEN_KEY": "key"}, "REGISTRY_TOKEN_CERT"),
    ({"REGISTRY_TOKEN_KEY": "key", "REGISTRY_TOKEN_CERT": "cert", "REGISTRY_URLS": "fr-par"}, "REGISTRY_URLS"),
    ({"REGISTRY_TOKEN_KEY": "key", "REGISTRY_TOKEN_CERT": "cert", "RECONCILE_INTERVAL_S": "0"}, "RECONCILE_INTERVAL_S"),
])
def test_serve_refuses_bad_data_plane_variables_naming_them(keys, variables, named):
    environment = {name: keys.get(value, value) for name, value in variables.items()}
    result = registryd(["serve"], DATABASE_URL="postgresql://nobody@127.0.0.1:1/none", **environment)
    assert result.returncode == 1 and named in result.stderr, result.stderr
    for path in (keys["key"], keys["ec"]):
        body = open(path).read().splitlines()[1]
        assert body not in result.stderr


def test_without_a_key_the_data_plane_is_off(keys):
    if not os.environ.get("REGISTRYD_TEST_DATABASE_URL"):
        pytest.skip("needs REGISTRYD_TEST_DATABASE_URL (make test sets it)")
    service, process = start_registryd()
    try:
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(service.url + "/auth/v1/regions/fr-par/token", timeout=5)
        assert answer.value.code == 404
    finally:
        process.terminate()
        process.wait(timeout=15)
