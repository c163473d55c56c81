"""Static checks of docker-compose.yml and the Dockerfile, which run in seconds and need no engine;
scripts/compose-test.sh (`make compose-test`) builds and runs both for real."""

import os
import re

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def compose():
    with open(os.path.join(ROOT, "docker-compose.yml")) as file:
        return yaml.safe_load(file)


def dockerfile_stages():
    with open(os.path.join(ROOT, "Dockerfile")) as file:
        text = file.read()
    stages = {}
    for block in re.split(r"(?m)^FROM ", text)[1:]:
        header, _, body = block.partition("\n")
        image, _, name = header.partition(" AS ")
        stages[name.strip() or image.strip()] = (image.strip(), body)
    return stages


def test_compose_has_the_five_services():
    services = compose()["services"]
    assert set(services) == {"postgres", "registry-setup", "registry", "registryd", "tests"}
    assert services["tests"]["profiles"] == ["tests"]


def test_postgres_has_a_health_check_and_a_named_volume():
    document = compose()
    postgres = document["services"]["postgres"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in document["volumes"]
    assert postgres["environment"]["POSTGRES_DB"] == "registryd"


def test_registryd_starts_only_once_postgres_is_healthy_and_is_configured_by_environment():
    registryd = compose()["services"]["registryd"]
    assert registryd["build"]["context"] == "."
    assert registryd["depends_on"]["postgres"]["condition"] == "service_healthy"
    environment = registryd["environment"]
    for variable in ["DATABASE_URL", "PORT", "REGIONS", "ENDPOINT_TEMPLATE", "DB_POOL_SIZE", "LOG_LEVEL"]:
        assert variable in environment, variable
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert registryd["ports"] == ["${REGISTRYD_PORT:-8080}:8080"], "host port 8080 unless REGISTRYD_PORT says otherwise"
    assert str(environment["PORT"]) == "8080"
    assert "/readyz" in " ".join(registryd["healthcheck"]["test"])
    assert int(registryd["stop_grace_period"].rstrip("s")) > int(environment["SHUTDOWN_GRACE_S"])


def test_every_compose_variable_is_one_registryd_knows():
    known = set()
    for source in ["Configuration.swift", "DataPlaneEnvironment.swift"]:
        with open(os.path.join(ROOT, "Sources", "registryd", source)) as file:
            known |= set(re.findall(r'(?:Variable|\.init)\(name: "([A-Z_]+)"', file.read()))
    services = compose()["services"]
    assert set(services["registryd"]["environment"]) <= known
    assert set(services["registry-setup"]["environment"]) <= known


def test_registry_runs_the_config_registryd_generates_and_both_know_each_other():
    """Issue 11: the registry's token realm and notifications point at registryd, registryd's
    REGISTRY_URLS at the registry service; the key pair and secret come from the one-shot setup."""
    services = compose()["services"]
    setup, registry, registryd = services["registry-setup"], services["registry"], services["registryd"]
    assert registry["image"] == "registry:2.8.2"
    assert registry["ports"] == ["${REGISTRY_PORT:-5000}:5000"]
    for dependent in [registry, registryd]:
        assert dependent["depends_on"]["registry-setup"]["condition"] == "service_completed_successfully"
    assert setup["image"] == registryd["image"] == "registryd:latest" and "build" not in setup
    script = " ".join(setup["command"])
    assert "registryd registry-config --region fr-par --listen 0.0.0.0:5000 --storage /var/lib/registry" in script
    assert "--registryd-url http://registryd:8080" in script and "--realm-url http://localhost:${REGISTRYD_PORT:-8080}" in script
    assert "openssl req -x509" in script and "openssl rand" in script
    environment = registryd["environment"]
    assert environment["REGISTRY_URLS"] == "fr-par=http://registry:5000"
    for variable in ["REGISTRY_TOKEN_KEY", "REGISTRY_TOKEN_CERT", "REGISTRY_NOTIFY_SECRET_FILE"]:
        assert environment[variable].startswith("/etc/docker/registry/"), variable
    assert "registry-setup:/etc/docker/registry:ro" in registry["volumes"]
    assert "registry-setup:/etc/docker/registry:ro" in registryd["volumes"]
    assert "registry-setup:/etc/docker/registry" in setup["volumes"]
    assert any(volume.endswith(":/var/lib/registry") for volume in registry["volumes"])


def test_registry_stand_in_keeps_the_official_images_conventions():
    """docker-compose.yml names registry:2.8.2; the stand-in must run it unchanged."""
    with open(os.path.join(ROOT, "scripts", "base-images", "registry.Dockerfile")) as file:
        recipe = file.read()
    assert "docker-registry" in recipe and "/usr/bin/registry" in recipe
    assert "COPY registry-config-example.yml /etc/docker/registry/config.yml" in recipe
    assert 'ENTRYPOINT ["/entrypoint.sh"]' in recipe and 'CMD ["/etc/docker/registry/config.yml"]' in recipe
    assert 'VOLUME ["/var/lib/registry"]' in recipe and "EXPOSE 5000" in recipe
    with open(os.path.join(ROOT, "scripts", "base-images", "registry-entrypoint.sh")) as file:
        assert "*.yaml|*.yml) set -- registry serve" in file.read()


def test_tests_service_runs_the_suite_against_registryd_by_url():
    tests = compose()["services"]["tests"]
    assert tests["build"]["target"] == "tests"
    assert tests["depends_on"]["registryd"]["condition"] == "service_healthy"
    assert tests["environment"]["REGISTRYD_URL"] == "http://registryd:8080"
    assert "DATABASE_URL" in tests["environment"]
    assert "tests" in dockerfile_stages()


def test_runtime_image_is_slim_non_root_and_carries_the_migrations():
    stages = dockerfile_stages()
    assert stages["build"][0].startswith("swift:")
    image, body = stages["runtime"]
    assert image.startswith("debian:") and image.endswith("-slim")
    installed = set(re.search(r"apt-get install[^\n]*--no-install-recommends ([^\\\n&]+)", body).group(1).split())
    assert installed == {"libpq5", "libh2o-evloop0.13", "libcurl4", "openssl"}
    assert re.search(r"(?m)^USER (?!0|root)", body)
    assert "COPY migrations" in body and "MIGRATIONS_DIR=" in body
    assert "EXPOSE 8080" in body
    assert list(stages)[-1] == "runtime", "the runtime stage must be last: it is what `docker build .` produces"


def test_readme_documents_compose_usage():
    with open(os.path.join(ROOT, "README.md")) as file:
        readme = file.read()
    for command in ["docker compose up", "docker compose run --rm --build tests", "/healthz", "/readyz", "/metrics",
                    "make compose-test"]:
        assert command in readme, command


def test_runtime_image_has_its_own_health_check_on_readyz():
    _, body = dockerfile_stages()["runtime"]
    healthcheck = re.search(r"(?ms)^HEALTHCHECK (.*?[^\\])$", body).group(1)
    assert "/readyz" in healthcheck and "${PORT:-8080}" in healthcheck


def test_swift_build_keeps_its_build_folder_in_a_cache_mount_and_strips_the_binary():
    _, body = dockerfile_stages()["build"]
    assert "--mount=type=cache" in body and "target=/src/.build" in body
    assert "strip -o /registryd" in body


def test_every_base_image_named_is_one_scripts_base_images_makes():
    """A base image the files name but base-images.sh does not make breaks make compose-test."""
    with open(os.path.join(ROOT, "scripts", "base-images.sh")) as file:
        made = set(re.findall(r"^#   (\S+:\S+) ", file.read(), re.M))
    named = {image for image, _ in dockerfile_stages().values() if ":" in image}
    services = compose()["services"].values()
    built = {service["image"] for service in services if "image" in service and "build" in service}
    named |= {service["image"] for service in services
              if "image" in service and "build" not in service and service["image"] not in built}
    assert named == made == {"swift:6.3-bookworm", "debian:bookworm-slim", "python:3.11-slim-bookworm",
                             "postgres:15-bookworm", "registry:2.8.2"}


def test_make_test_and_ci_run_the_compose_suite():
    with open(os.path.join(ROOT, "scripts", "test.sh")) as file:
        assert "scripts/compose-test.sh" in file.read()
    with open(os.path.join(ROOT, ".ci", "run")) as file:
        ci = file.read()
    assert "docker.io" in ci and "debootstrap" in ci and "scripts/install-compose.sh" in ci
    with open(os.path.join(ROOT, "Makefile")) as file:
        assert "compose-test:" in file.read()
