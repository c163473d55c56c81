"""Issue 11 end to end: real skopeo pushes to a real registry whose tokens and notifications are
registryd's; who may push and pull, and exact image and namespace sizes seen through the API."""

import concurrent.futures
import json
import os
import subprocess
import uuid

import pytest

from data_plane import Plane, poll
from oci_layout import Layout, distinct_size


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    started = Plane(str(tmp_path_factory.mktemp("plane")))
    started.start_registry("fr-par")
    yield started
    started.stop()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def simple_image(directory, tag="v1", content=b"payload"):
    layout = Layout(directory)
    manifest, blobs = layout.manifest([layout.layer(content + b"-1", "one"), layout.layer(content * 50, "two")])
    layout.tag(manifest, tag)
    return layout, distinct_size(blobs)


def test_owner_push_records_the_image_with_its_exact_size(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("push"))
    layout, size = simple_image(str(tmp_path / "img"))
    pushed = plane.push(layout, "v1", f"{namespace['name']}/app", owner)
    assert pushed.returncode == 0, pushed.stderr
    current = poll(lambda: (lambda n: n if n["image_count"] == 1 and n["size"] == size else None)(
        plane.get_namespace(owner, namespace)), what="namespace size and image_count")
    assert current["updated_at"] > namespace["updated_at"]
    assert plane.inspect(f"{namespace['name']}/app", "v1", owner).returncode == 0


def test_a_push_is_audited_with_the_access_key_that_pushed(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("audit"))
    layout, _ = simple_image(str(tmp_path / "img"))
    assert plane.push(layout, "v1", f"{namespace['name']}/app", owner).returncode == 0
    image_id = poll(lambda: plane.sql(f"SELECT id FROM images WHERE namespace_id = '{namespace['id']}'") or None,
                    what="image recorded")
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": plane.database_url}
    listed = subprocess.run([plane.binary, "audit", "list", "--resource-id", image_id, "--json"], env=environment,
                            check=True, capture_output=True, text=True).stdout
    records = [json.loads(line) for line in listed.splitlines()]
    assert [record["action"] for record in records] == ["image.push"]
    assert records[0]["access_key"] == owner["access"] and records[0]["organization_id"] == owner["organization_id"]
    assert records[0]["request_id"]
    tags = plane.sql(f"SELECT action || ' ' || access_key FROM audit_log WHERE resource_type = 'tag' "
                     f"AND organization_id = '{owner['organization_id']}'")
    assert tags == f"tag.push {owner['access']}"


def test_other_organization_and_other_project_are_denied(plane, tmp_path):
    organization, project, other_project = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    owner = plane.create_key(organization)
    namespace = plane.namespace(owner, unique("deny"), project_id=project)
    layout, _ = simple_image(str(tmp_path / "img"))
    repository = f"{namespace['name']}/app"
    stranger = plane.create_key()
    assert plane.push(layout, "v1", repository, stranger).returncode != 0
    assert plane.push(layout, "v1", repository, plane.create_key(organization, other_project)).returncode != 0
    assert plane.sql(f"SELECT count(*) FROM images WHERE namespace_id = '{namespace['id']}'") == "0"
    in_project = plane.create_key(organization, project)
    pushed = plane.push(layout, "v1", repository, in_project)
    assert pushed.returncode == 0, pushed.stderr
    assert plane.inspect(repository, "v1", stranger).returncode != 0


def test_push_into_an_unknown_or_deleting_namespace_is_denied(plane, tmp_path):
    owner = plane.create_key()
    layout, _ = simple_image(str(tmp_path / "img"))
    assert plane.push(layout, "v1", f"{unique('nowhere')}/app", owner).returncode != 0
    namespace = plane.namespace(owner, unique("gone"))
    status, _ = plane.api("DELETE", f"/registry/v1/regions/fr-par/namespaces/{namespace['id']}", owner)
    assert status == 200
    assert plane.sql(f"SELECT status FROM namespaces WHERE id = '{namespace['id']}'") == "deleting"
    assert plane.push(layout, "v1", f"{namespace['name']}/app", owner).returncode != 0


@pytest.mark.parametrize("is_public,visibility,allowed", [
    (True, "inherit", True), (False, "inherit", False), (False, "public", True), (True, "private", False)])
def test_anonymous_pull_matrix(plane, tmp_path, is_public, visibility, allowed):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("pull"), is_public=is_public)
    layout, _ = simple_image(str(tmp_path / "img"))
    repository = f"{namespace['name']}/app"
    assert plane.push(layout, "v1", repository, owner).returncode == 0
    poll(lambda: plane.image_size(namespace, "app"), what="image recorded")
    plane.sql(f"UPDATE images SET visibility = '{visibility}' WHERE namespace_id = '{namespace['id']}'")
    anonymous = plane.inspect(repository, "v1")
    assert (anonymous.returncode == 0) == allowed, anonymous.stderr
    assert plane.inspect(repository, "v1", owner).returncode == 0


def test_namespace_made_public_is_pullable_anonymously(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("flip"))
    layout, _ = simple_image(str(tmp_path / "img"))
    repository = f"{namespace['name']}/app"
    assert plane.push(layout, "v1", repository, owner).returncode == 0
    assert plane.inspect(repository, "v1").returncode != 0
    status, _ = plane.api("PATCH", f"/registry/v1/regions/fr-par/namespaces/{namespace['id']}", owner, {"is_public": True})
    assert status == 200
    assert plane.inspect(repository, "v1").returncode == 0


def test_sizes_two_tags_sharing_layers_count_them_once(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("tags"))
    layout = Layout(str(tmp_path / "img"))
    shared, base = layout.layer(b"s" * 3000, "shared"), layout.layer(b"base", "base")
    first, first_blobs = layout.manifest([shared, base])
    second, second_blobs = layout.manifest([shared, base, layout.layer(b"extra" * 10, "extra")], salt="v2")
    layout.tag(first, "v1")
    layout.tag(second, "v2")
    for tag in ("v1", "v2"):
        assert plane.push(layout, tag, f"{namespace['name']}/app", owner).returncode == 0
    expected = distinct_size(first_blobs, second_blobs)
    assert expected < distinct_size(first_blobs) + distinct_size(second_blobs)
    poll(lambda: plane.image_size(namespace, "app") == str(expected), what=f"image size {expected}")
    poll(lambda: plane.get_namespace(owner, namespace)["size"] == expected, what="namespace size")


def test_sizes_two_images_sharing_a_layer_count_it_in_each(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("share"))
    layout = Layout(str(tmp_path / "img"))
    shared = layout.layer(b"s" * 5000, "shared")
    one, one_blobs = layout.manifest([shared, layout.layer(b"one", "one")])
    two, two_blobs = layout.manifest([shared, layout.layer(b"two", "two")], salt="two")
    layout.tag(one, "one")
    layout.tag(two, "two")
    assert plane.push(layout, "one", f"{namespace['name']}/first", owner).returncode == 0
    assert plane.push(layout, "two", f"{namespace['name']}/second", owner).returncode == 0
    total = distinct_size(one_blobs) + distinct_size(two_blobs)
    done = poll(lambda: (lambda n: n if n["size"] == total and n["image_count"] == 2 else None)(
        plane.get_namespace(owner, namespace)), what=f"namespace size {total}")
    assert done["image_count"] == 2
    assert plane.image_size(namespace, "first") == str(distinct_size(one_blobs))


def test_sizes_multi_arch_index_counts_its_children(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("multi"))
    layout = Layout(str(tmp_path / "img"))
    shared = layout.layer(b"m" * 2000, "shared")
    amd, amd_blobs = layout.manifest([shared, layout.layer(b"amd64", "bin")], architecture="amd64")
    arm, arm_blobs = layout.manifest([shared, layout.layer(b"arm64!", "bin")], architecture="arm64")
    layout.tag(layout.index([(amd, "amd64"), (arm, "arm64")]), "v1")
    pushed = plane.push(layout, "v1", f"{namespace['name']}/multi", owner, all_images=True)
    assert pushed.returncode == 0, pushed.stderr
    expected = distinct_size(amd_blobs, arm_blobs)
    poll(lambda: plane.get_namespace(owner, namespace)["size"] == expected, what=f"namespace size {expected}")


def test_ten_concurrent_pushes_make_exactly_ten_images(plane, tmp_path):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("many"))
    images = [simple_image(str(tmp_path / f"img{index}"), content=f"image-{index}".encode()) for index in range(10)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda item: plane.push(item[1][0], "v1", f"{namespace['name']}/app{item[0]}", owner),
                                enumerate(images)))
    assert all(result.returncode == 0 for result in results), [result.stderr for result in results]
    total = sum(size for _, size in images)
    done = poll(lambda: (lambda n: n if n["image_count"] == 10 and n["size"] == total else None)(
        plane.get_namespace(owner, namespace)), what="ten images")
    assert done["image_count"] == 10
