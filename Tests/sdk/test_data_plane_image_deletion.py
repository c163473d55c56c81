"""Issue 12: deletions the registry cannot carry out now are retried until it can, the rows staying
`deleting`, across a registryd restart; a namespace deleted with its images and taken again by
its own organization never serves the old content."""

import os
import uuid

import pytest

from data_plane import Plane, poll
from oci_layout import Layout

BASE = "/registry/v1/regions/fr-par"


def push(plane, key, directory, repository, tag, content):
    layout = Layout(directory)
    manifest, _ = layout.manifest([layout.layer(content, "f")])
    layout.tag(manifest, tag)
    pushed = plane.push(layout, tag, repository, key)
    assert pushed.returncode == 0, pushed.stderr
    return manifest


@pytest.fixture
def plane(tmp_path_factory):
    started = Plane(str(tmp_path_factory.mktemp("plane")), purge_interval_ms="200", reconciled_regions=("fr-par",))
    started.start_registry("fr-par")
    yield started
    started.stop()


def test_deletions_wait_for_a_registry_that_is_down_and_survive_a_restart(plane, tmp_path):
    key = plane.create_key()
    name = f"down-{uuid.uuid4().hex[:10]}"
    namespace = plane.namespace(key, name)
    push(plane, key, str(tmp_path / "a"), f"{name}/gone", "v1", b"image to delete")
    push(plane, key, str(tmp_path / "b"), f"{name}/kept", "v1", b"image whose tag goes")
    push(plane, key, str(tmp_path / "c"), f"{name}/kept", "v2", b"another manifest, whose tag stays")
    poll(lambda: plane.sql(f"SELECT count(*) FROM tags t JOIN images i ON i.id = t.image_id WHERE i.namespace_id = '{namespace['id']}'") == "3",
         what="tags recorded")
    image = plane.sql(f"SELECT id FROM images WHERE namespace_id = '{namespace['id']}' AND name = 'gone'")
    tag = plane.sql(f"SELECT t.id FROM tags t JOIN images i ON i.id = t.image_id WHERE i.name = 'kept' AND t.name = 'v1' "
                    f"AND i.namespace_id = '{namespace['id']}'")

    registry = next(p for p in plane.processes if p.args[:2] == ["docker-registry", "serve"])
    registry.terminate()
    registry.wait(timeout=15)
    assert plane.api("DELETE", f"{BASE}/images/{image}", key)[1]["status"] == "deleting"
    assert plane.api("DELETE", f"{BASE}/tags/{tag}?force=true", key)[1]["status"] == "deleting"
    poll(lambda: "deleting an image in the registry failed; retrying" in plane.logs()
         and "deleting a tag in the registry failed; retrying" in plane.logs(), what="failed attempts logged")
    assert plane.api("GET", f"{BASE}/images/{image}", key)[1]["status"] == "deleting"
    assert plane.api("GET", f"{BASE}/tags/{tag}", key)[1]["status"] == "deleting"
    status, refused = plane.api("PATCH", f"{BASE}/images/{image}", key, {"visibility": "public"})
    assert status == 409 and refused["type"] == "transient_state" and refused["current_state"] == "deleting"
    first = plane.api("GET", f"{BASE}/images/{image}", key)[1]
    assert plane.api("DELETE", f"{BASE}/images/{image}", key) == (200, first)  # a second DELETE changes nothing

    # registryd restarts while the registry is still down: the marks are in the database
    plane.registryd.terminate()
    plane.registryd.wait(timeout=15)
    urls = ",".join(f"{region}=http://127.0.0.1:{port}" for region, port in plane.registry_ports.items())
    plane.registryd = plane.spawn_registryd(plane.port, REGISTRY_URLS=urls)
    assert plane.api("GET", f"{BASE}/images/{image}", key)[1]["status"] == "deleting"

    plane.start_registry("fr-par")  # same port, same storage
    poll(lambda: plane.api("GET", f"{BASE}/images/{image}", key)[0] == 404, 30, "image deleted once the registry is back")
    poll(lambda: plane.api("GET", f"{BASE}/tags/{tag}", key)[0] == 404, 30, "tag deleted once the registry is back")
    assert plane.inspect(f"{name}/gone", "v1", key).returncode != 0
    assert plane.inspect(f"{name}/kept", "v1", key).returncode != 0
    assert plane.inspect(f"{name}/kept", "v2", key).returncode == 0
    assert plane.get_namespace(key, namespace)["image_count"] == 1


def test_a_namespace_deleted_with_images_and_taken_again_by_its_owner_serves_nothing_old(plane, tmp_path):
    key = plane.create_key()
    name = f"again-{uuid.uuid4().hex[:10]}"
    namespace = plane.namespace(key, name, is_public=True)
    old = {image: push(plane, key, str(tmp_path / image), f"{name}/{image}", "v1", image.encode() * 10)
           for image in ["one", "two/nested"]}
    poll(lambda: plane.get_namespace(key, namespace)["image_count"] == 2, what="images recorded")
    status, deleting = plane.api("DELETE", f"{BASE}/namespaces/{namespace['id']}", key)
    assert status == 200 and deleting["status"] == "deleting"
    poll(lambda: plane.api("GET", f"{BASE}/namespaces/{namespace['id']}", key)[0] == 404, what="namespace gone")
    again = plane.namespace(key, name, is_public=True)
    status, listed = plane.api("GET", f"{BASE}/images?namespace_id={again['id']}", key)
    assert status == 200 and listed["total_count"] == 0
    poll(lambda: plane.sql(f"SELECT count(*) FROM registry_deletions WHERE repository LIKE '{name}/%'") == "0",
         what="old content deleted in the registry")
    for image, manifest in old.items():
        assert plane.inspect(f"{name}/{image}", "v1", key).returncode != 0
        assert plane.inspect(f"{name}/{image}", "v1").returncode != 0
        by_digest = plane.skopeo("inspect", "--tls-verify=false", "--creds", f"nologin:{key['secret']}",
                                 f"docker://{plane.registries['fr-par']}/{name}/{image}@{manifest['digest']}")
        assert by_digest.returncode != 0 and "manifest unknown" in by_digest.stderr.lower(), by_digest.stderr
    assert plane.get_namespace(key, again)["image_count"] == 0
