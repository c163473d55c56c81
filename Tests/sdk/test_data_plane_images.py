"""Issue 12: the images and tags API through the official Scaleway SDK (sync and async, unchanged),
against a real registry pushed to with skopeo: listing and paging, visibility, deleting one tag
(and only it) and whole images in the registry, sizes and counters, tenant isolation."""

import asyncio
import uuid

import pytest
from scaleway import Client, ScalewayException, WaitForOptions
from scaleway.registry.v1 import ListImagesRequestOrderBy, RegistryV1API
from scaleway_async.registry.v1 import RegistryV1API as AsyncRegistryV1API

from data_plane import Plane, poll
from oci_layout import Layout, distinct_size

WAIT = WaitForOptions(timeout=20, min_delay=1, max_delay=1)


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    started = Plane(str(tmp_path_factory.mktemp("plane")), purge_interval_ms="200", reconciled_regions=("fr-par",))
    started.start_registry("fr-par")
    yield started
    started.stop()


def sdk(plane, key, asynchronous=False):
    client = Client(access_key=key["access"], secret_key=key["secret"], default_organization_id=key["organization_id"],
                    default_project_id=key["project_id"], default_region="fr-par", api_url=plane.url)
    return AsyncRegistryV1API(client) if asynchronous else RegistryV1API(client)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def push_image(plane, key, tmp_path, repository, tags, content=None):
    """Pushes one single-layer manifest under every tag of `tags`; returns (manifest, blobs)."""
    layout = Layout(str(tmp_path / unique("layout")))
    manifest, blobs = layout.manifest([layout.layer(content or repository.encode() + uuid.uuid4().bytes, "f")])
    for tag in tags:
        layout.tag(manifest, tag)
        pushed = plane.push(layout, tag, repository, key)
        assert pushed.returncode == 0, pushed.stderr
    return manifest, blobs


def wait_for_tags(api, namespace_id, name, tags):
    """Polls until the image exists with exactly `tags` (events are asynchronous)."""
    def found():
        images = api.list_images(namespace_id=namespace_id, name=name).images
        return images[0] if images and sorted(images[0].tags) == sorted(tags) else None
    return poll(found, what=f"image {name} with tags {tags}")


def pull_by_digest(plane, repository, digest, key):
    return plane.skopeo("inspect", "--tls-verify=false", "--creds", f"nologin:{key['secret']}",
                        f"docker://{plane.registries['fr-par']}/{repository}@{digest}")


def test_list_get_and_page_images_and_tags(plane, tmp_path):
    key = plane.create_key()
    api = sdk(plane, key)
    name = unique("list")
    namespace = plane.namespace(key, name)
    pushed = {}
    for image in ["app-a", "app-b", "app-c"]:
        pushed[image] = push_image(plane, key, tmp_path, f"{name}/{image}", ["v1", "latest"])
    for image in pushed:
        wait_for_tags(api, namespace["id"], image, ["latest", "v1"])

    page = api.list_images(namespace_id=namespace["id"], page_size=2)
    assert page.total_count == 3 and len(page.images) == 2
    every = api.list_images_all(namespace_id=namespace["id"], page_size=2)  # fetch_all_pages over two pages
    assert [image.name for image in every] == ["app-a", "app-b", "app-c"]
    newest_first = api.list_images(namespace_id=namespace["id"], order_by=ListImagesRequestOrderBy.NAME_DESC)
    assert [image.name for image in newest_first.images] == ["app-c", "app-b", "app-a"]
    assert api.list_images(name="app-b", namespace_id=namespace["id"]).total_count == 1
    assert api.list_images(name="missing").total_count == 0

    manifest, blobs = pushed["app-b"]
    image = api.get_image(image_id=api.list_images(name="app-b", namespace_id=namespace["id"]).images[0].id)
    assert image.namespace_id == namespace["id"] and image.status == "ready" and image.visibility == "inherit"
    assert image.size == distinct_size(blobs) and sorted(image.tags) == ["latest", "v1"]
    assert image.created_at.tzinfo is not None

    tags = api.list_tags_all(image_id=image.id, page_size=1)
    assert sorted(tag.name for tag in tags) == ["latest", "v1"]
    assert all(tag.digest == manifest["digest"] and tag.image_id == image.id and tag.status == "ready" for tag in tags)
    assert api.list_tags(image_id=image.id, name="v1").total_count == 1
    assert api.get_tag(tag_id=tags[0].id) == tags[0]
    counted = plane.get_namespace(key, namespace)
    assert counted["image_count"] == 3
    assert counted["size"] == sum(distinct_size(b) for _, b in pushed.values())


def test_visibility_decides_anonymous_pulls_from_the_next_token(plane, tmp_path):
    key = plane.create_key()
    api = sdk(plane, key)
    name = unique("vis")
    namespace = plane.namespace(key, name, is_public=False)
    push_image(plane, key, tmp_path, f"{name}/app", ["v1"])
    image = wait_for_tags(api, namespace["id"], "app", ["v1"])
    assert plane.inspect(f"{name}/app", "v1").returncode != 0  # inherit of a private namespace

    assert api.update_image(image_id=image.id, visibility="public").visibility == "public"
    assert plane.inspect(f"{name}/app", "v1").returncode == 0
    path = f"/registry/v1/regions/fr-par/images/{image.id}"
    for unchanged in [{}, {"visibility": "visibility_unknown"}, {"visibility": None}]:
        status, body = plane.api("PATCH", path, key, unchanged)
        assert status == 200 and body["visibility"] == "public", (unchanged, body)
    status, body = plane.api("PATCH", path, key, {"visibility": "everyone"})
    assert status == 400 and body["type"] == "invalid_arguments" and body["details"][0]["argument_name"] == "visibility"
    assert plane.api("PATCH", path, key, {"visibility": 1})[0] == 400

    assert api.update_image(image_id=image.id, visibility="private").visibility == "private"
    assert plane.inspect(f"{name}/app", "v1").returncode != 0
    assert plane.inspect(f"{name}/app", "v1", key).returncode == 0  # the owner still pulls
    api.update_image(image_id=image.id, visibility="inherit")
    plane.api("PATCH", f"/registry/v1/regions/fr-par/namespaces/{namespace['id']}", key, {"is_public": True})
    assert plane.inspect(f"{name}/app", "v1").returncode == 0


def test_delete_tag_removes_that_tag_only_and_force_removes_its_siblings(plane, tmp_path):
    key = plane.create_key()
    api = sdk(plane, key)
    name = unique("tags")
    namespace = plane.namespace(key, name)
    repository = f"{name}/app"
    shared, shared_blobs = push_image(plane, key, tmp_path, repository, ["v1", "v2"])
    alone, alone_blobs = push_image(plane, key, tmp_path, repository, ["v3"])
    image = wait_for_tags(api, namespace["id"], "app", ["v1", "v2", "v3"])
    assert image.size == distinct_size(shared_blobs, alone_blobs)
    tags = {tag.name: tag for tag in api.list_tags_all(image_id=image.id)}

    with pytest.raises(ScalewayException) as refused:
        api.delete_tag(tag_id=tags["v1"].id)
    assert refused.value.status_code == 412
    assert refused.value.response.json()["type"] == "precondition_failed"
    assert api.get_tag(tag_id=tags["v1"].id).status == "ready"

    deleted = api.delete_tag(tag_id=tags["v3"].id)
    assert deleted.status == "deleting" and deleted.name == "v3"
    poll(lambda: plane.api("GET", f"/registry/v1/regions/fr-par/tags/{tags['v3'].id}", key)[0] == 404, what="tag gone")
    assert plane.inspect(repository, "v3", key).returncode != 0
    assert plane.inspect(repository, "v1", key).returncode == 0 and plane.inspect(repository, "v2", key).returncode == 0
    image = api.get_image(image_id=image.id)
    assert sorted(image.tags) == ["v1", "v2"] and image.size == distinct_size(shared_blobs)
    assert plane.get_namespace(key, namespace)["size"] == distinct_size(shared_blobs)

    assert api.delete_tag(tag_id=tags["v1"].id, force=True).status == "deleting"
    assert api.get_tag(tag_id=tags["v2"].id).status == "deleting"
    for tag in ["v1", "v2"]:
        poll(lambda: plane.api("GET", f"/registry/v1/regions/fr-par/tags/{tags[tag].id}", key)[0] == 404, what=f"{tag} gone")
        assert plane.inspect(repository, tag, key).returncode != 0
    image = api.get_image(image_id=image.id)  # an image whose last tag is deleted stays, with size 0
    assert image.tags == [] and image.size == 0 and image.status == "ready"
    counted = plane.get_namespace(key, namespace)
    assert counted["image_count"] == 1 and counted["size"] == 0
    # a later push counts again
    _, again = push_image(plane, key, tmp_path, repository, ["v4"])
    poll(lambda: api.get_image(image_id=image.id).size == distinct_size(again), what="size after a new push")
    assert plane.get_namespace(key, namespace)["size"] == distinct_size(again)


def test_delete_image_removes_every_digest_ever_pushed(plane, tmp_path):
    key = plane.create_key()
    api = sdk(plane, key)
    name = unique("img")
    namespace = plane.namespace(key, name)
    repository = f"{name}/app"
    old, _ = push_image(plane, key, tmp_path, repository, ["v1"])
    new, _ = push_image(plane, key, tmp_path, repository, ["v1"])  # v1 moves; the old manifest stays by digest
    image = poll(lambda: next((i for i in api.list_images(namespace_id=namespace["id"]).images
                               if i.size and plane.sql(f"SELECT count(*) FROM manifests WHERE image_id = '{i.id}'") == "2"), None),
                 what="both manifests recorded")
    assert pull_by_digest(plane, repository, old["digest"], key).returncode == 0
    deleted = api.delete_image(image_id=image.id)
    assert deleted.status == "deleting"
    with pytest.raises(ScalewayException) as gone:
        api.wait_for_image(image_id=image.id, options=WAIT)
    assert gone.value.status_code == 404
    for digest in [old["digest"], new["digest"]]:
        inspected = pull_by_digest(plane, repository, digest, key)
        assert inspected.returncode != 0 and "manifest unknown" in inspected.stderr.lower(), inspected.stderr
    assert plane.inspect(repository, "v1", key).returncode != 0
    counted = plane.get_namespace(key, namespace)
    assert counted["image_count"] == 0 and counted["size"] == 0


def test_other_organizations_and_projects_cannot_see_or_touch_images(plane, tmp_path):
    owner = plane.create_key()
    stranger = plane.create_key()
    other_project = plane.create_key(organization_id=owner["organization_id"], project_id=str(uuid.uuid4()))
    name = unique("iso")
    namespace = plane.namespace(owner, name)
    push_image(plane, owner, tmp_path, f"{name}/app", ["v1"])
    image = wait_for_tags(sdk(plane, owner), namespace["id"], "app", ["v1"])
    tag = sdk(plane, owner).list_tags(image_id=image.id).tags[0]
    base = "/registry/v1/regions/fr-par"
    for key in [stranger, other_project]:
        for method, path, body in [("GET", f"{base}/images/{image.id}", None), ("PATCH", f"{base}/images/{image.id}", {"visibility": "public"}),
                                   ("DELETE", f"{base}/images/{image.id}", None), ("GET", f"{base}/images/{image.id}/tags", None),
                                   ("GET", f"{base}/tags/{tag.id}", None), ("DELETE", f"{base}/tags/{tag.id}?force=true", None)]:
            status, answer = plane.api(method, path, key, body)
            assert status == 404 and answer["type"] == "not_found", (method, path, answer)
            assert answer["resource"] in ("image", "tag")
        status, listed = plane.api("GET", f"{base}/images?namespace_id={namespace['id']}", key)
        assert status == 200 and listed == {"images": [], "total_count": 0}
    status, denied = plane.api("GET", f"{base}/images?organization_id={owner['organization_id']}", stranger)
    assert status == 403 and denied["type"] == "permissions_denied"
    assert sdk(plane, owner).get_image(image_id=image.id).visibility == "inherit"  # nothing changed
    assert sdk(plane, owner).get_tag(tag_id=tag.id).status == "ready"
    # errors of the namespace API: region, malformed ids, no token
    assert plane.api("GET", f"/registry/v1/regions/xx-yyy/images/{image.id}", owner)[0] == 400
    status, answer = plane.api("GET", f"{base}/images/not-a-uuid", owner)
    assert status == 400 and answer["details"][0]["argument_name"] == "image_id"
    assert plane.api("GET", f"{base}/tags/{tag.id}")[0] == 401
    assert plane.api("GET", f"{base}/images?order_by=size_asc", owner)[0] == 400
    assert plane.api("DELETE", f"{base}/tags/{tag.id}?force=maybe", owner)[0] == 400


def test_async_sdk_lists_and_deletes_an_image(plane, tmp_path):
    key = plane.create_key()
    name = unique("async")
    namespace = plane.namespace(key, name)
    push_image(plane, key, tmp_path, f"{name}/app", ["v1"])
    wait_for_tags(sdk(plane, key), namespace["id"], "app", ["v1"])

    async def flow():
        api = sdk(plane, key, asynchronous=True)
        images = await api.list_images_all(namespace_id=namespace["id"])
        assert [image.name for image in images] == ["app"]
        tags = await api.list_tags_all(image_id=images[0].id)
        assert (await api.get_tag(tag_id=tags[0].id)).name == "v1"
        assert (await api.update_image(image_id=images[0].id, visibility="private")).visibility == "private"
        assert (await api.delete_image(image_id=images[0].id)).status == "deleting"
        with pytest.raises(ScalewayException) as gone:
            await api.wait_for_image(image_id=images[0].id, options=WAIT)
        assert gone.value.status_code == 404

    asyncio.run(flow())
    assert plane.inspect(f"{name}/app", "v1", key).returncode != 0


def test_multi_arch_tag_and_image_deletion(plane, tmp_path):
    """A tag on an index goes alone (a sibling tag on a child manifest keeps working); deleting the
    image deletes the index and both children by digest."""
    key = plane.create_key()
    api = sdk(plane, key)
    name = unique("multi")
    namespace = plane.namespace(key, name)
    repository = f"{name}/app"
    layout = Layout(str(tmp_path / "multi"))
    shared = layout.layer(b"m" * 2000, "shared")
    amd, amd_blobs = layout.manifest([shared, layout.layer(b"amd64", "bin")], architecture="amd64")
    arm, arm_blobs = layout.manifest([shared, layout.layer(b"arm64!", "bin")], architecture="arm64")
    index = layout.index([(amd, "amd64"), (arm, "arm64")])
    layout.tag(index, "v1")
    assert plane.push(layout, "v1", repository, key, all_images=True).returncode == 0
    layout.tag(amd, "amd64-only")
    assert plane.push(layout, "amd64-only", repository, key).returncode == 0
    image = wait_for_tags(api, namespace["id"], "app", ["amd64-only", "v1"])
    assert image.size == distinct_size(amd_blobs, arm_blobs)
    tags = {tag.name: tag for tag in api.list_tags_all(image_id=image.id)}
    assert tags["v1"].digest == index["digest"]

    api.delete_tag(tag_id=tags["v1"].id)
    poll(lambda: plane.api("GET", f"/registry/v1/regions/fr-par/tags/{tags['v1'].id}", key)[0] == 404, what="index tag gone")
    assert plane.inspect(repository, "v1", key).returncode != 0
    assert plane.inspect(repository, "amd64-only", key).returncode == 0  # the child manifest was not deleted
    poll(lambda: api.get_image(image_id=image.id).size == distinct_size(amd_blobs), what="size of the remaining tag")

    api.delete_image(image_id=image.id)
    poll(lambda: plane.api("GET", f"/registry/v1/regions/fr-par/images/{image.id}", key)[0] == 404, what="image gone")
    for digest in [index["digest"], amd["digest"], arm["digest"]]:
        inspected = pull_by_digest(plane, repository, digest, key)
        assert inspected.returncode != 0 and "manifest unknown" in inspected.stderr.lower(), (digest, inspected.stderr)
