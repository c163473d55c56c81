"""Issue 11: deleting a namespace deletes its content in the registry, so that whoever takes the
name next can never pull the old images, by tag or by digest."""

import json
import uuid

import pytest

from data_plane import Plane, poll
from oci_layout import Layout


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    started = Plane(str(tmp_path_factory.mktemp("plane")), purge_interval_ms="200", reconciled_regions=("fr-par",))
    started.start_registry("fr-par")
    yield started
    started.stop()


def test_a_reused_name_never_serves_the_old_content(plane, tmp_path):
    first, second = plane.create_key(), plane.create_key()
    name = f"reuse-{uuid.uuid4().hex[:10]}"
    namespace = plane.namespace(first, name, is_public=True)
    layout = Layout(str(tmp_path / "img"))
    manifest, _ = layout.manifest([layout.layer(b"secret content", "secret")])
    layout.tag(manifest, "v1")
    assert plane.push(layout, "v1", f"{name}/app", first).returncode == 0
    by_digest = f"{name}/app@{manifest['digest']}"
    poll(lambda: plane.image_size(namespace, "app"), what="image recorded")
    status, _ = plane.api("DELETE", f"/registry/v1/regions/fr-par/namespaces/{namespace['id']}", first)
    assert status == 200
    poll(lambda: plane.sql(f"SELECT count(*) FROM namespaces WHERE id = '{namespace['id']}'") == "0", what="namespace purged")
    poll(lambda: plane.sql("SELECT count(*) FROM registry_deletions WHERE region = 'fr-par'") == "0", what="registry deletions done")
    successor = plane.namespace(second, name, is_public=True)
    inspect = plane.skopeo("inspect", "--tls-verify=false", "--creds", f"nologin:{second['secret']}",
                           f"docker://{plane.registries['fr-par']}/{by_digest}")
    assert inspect.returncode != 0 and "manifest unknown" in inspect.stderr.lower(), inspect.stderr
    assert plane.inspect(f"{name}/app", "v1", second).returncode != 0
    assert plane.get_namespace(second, successor)["image_count"] == 0


@pytest.fixture(scope="module")
def unreconciled(tmp_path_factory):
    """A plane whose registryd reconciles no region: its registry deletions stay queued."""
    started = Plane(str(tmp_path_factory.mktemp("plane")), purge_interval_ms="200")
    started.start_registry("fr-par")
    yield started
    started.stop()


def test_a_reused_name_gets_nothing_while_old_content_waits_to_be_deleted(unreconciled, tmp_path):
    plane = unreconciled
    first, second = plane.create_key(), plane.create_key()
    name = f"wait-{uuid.uuid4().hex[:10]}"
    namespace = plane.namespace(first, name, is_public=True)
    layout = Layout(str(tmp_path / "img"))
    manifest, _ = layout.manifest([layout.layer(b"old owner's content", "old")])
    layout.tag(manifest, "v1")
    assert plane.push(layout, "v1", f"{name}/app", first).returncode == 0
    poll(lambda: plane.image_size(namespace, "app"), what="image recorded")
    assert plane.api("DELETE", f"/registry/v1/regions/fr-par/namespaces/{namespace['id']}", first)[0] == 200
    poll(lambda: plane.sql(f"SELECT count(*) FROM namespaces WHERE id = '{namespace['id']}'") == "0", what="namespace purged")
    assert plane.sql(f"SELECT count(*) FROM registry_deletions WHERE repository = '{name}/app'") == "1"
    plane.namespace(second, name, is_public=True)
    assert plane.inspect(f"{name}/app", "v1", second).returncode != 0
    assert plane.inspect(f"{name}/app", "v1").returncode != 0
    assert plane.push(layout, "v1", f"{name}/app", second).returncode != 0
    assert plane.push(layout, "v1", f"{name}/other", second).returncode == 0  # other repositories are unaffected
