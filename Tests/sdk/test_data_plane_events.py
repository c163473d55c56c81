"""Issue 11: the token endpoint and the event receiver under duplicate and hostile input, and the
reconciler repairing events a registry lost."""

import base64
import json
import os
import secrets
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from conftest import _free_port
from data_plane import Plane, jwt_claims, poll
from oci_layout import Layout, distinct_size


@pytest.fixture(scope="module")
def plane(tmp_path_factory):
    started = Plane(str(tmp_path_factory.mktemp("plane")), log_level="debug")
    started.start_registry("fr-par")
    yield started
    started.stop()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def token(plane, scopes, user_password=None, raw_authorization=None, region="fr-par"):
    query = urllib.parse.urlencode([("service", f"rg.{region}.scw.cloud")] + [("scope", scope) for scope in scopes])
    request = urllib.request.Request(f"{plane.url}/auth/v1/regions/{region}/token?{query}")
    if user_password:
        request.add_header("Authorization", "Basic " + base64.b64encode(user_password.encode()).decode())
    if raw_authorization:
        request.add_header("Authorization", raw_authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def access(body):
    return {(entry["type"], entry["name"]): entry["actions"] for entry in jwt_claims(body["token"])["access"]}


def post_events(plane, envelope, secret=None, raw=None, region="fr-par"):
    data = raw if raw is not None else json.dumps(envelope).encode()
    request = urllib.request.Request(f"{plane.url}/internal/v1/regions/{region}/registry-events", data=data, method="POST")
    request.add_header("Content-Type", "application/vnd.docker.distribution.events.v1+json")
    request.add_header("Authorization", "Bearer " + (plane.secret if secret is None else secret))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def push_event(event_id, repository, tag, sizes):
    references = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": size,
                   "digest": "sha256:" + f"{index:064x}"} for index, size in enumerate(sizes)]
    return {"events": [{"id": event_id, "action": "push", "target": {
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + uuid.uuid4().hex * 2,
        "repository": repository, "tag": tag, "references": references}}]}


def test_login_and_token_shape(plane):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("login"))
    status, body = token(plane, [], f"nologin:{owner['secret']}")
    assert status == 200 and body["expires_in"] == 300 and body["token"] == body["access_token"]
    claims = jwt_claims(body["token"])
    assert claims["aud"] == "rg.fr-par.scw.cloud" and claims["exp"] - claims["iat"] == 300
    # The subject is the access key: the registry's notifications name it as the pusher (audit trail).
    assert claims["sub"] == owner["access"]
    status, body = token(plane, [f"repository:{namespace['name']}/app:pull,push,delete"], f"nologin:{owner['secret']}")
    assert access(body)[("repository", f"{namespace['name']}/app")] == ["pull", "push", "delete"]
    login = plane.skopeo("login", "--tls-verify=false", "-u", "nologin", "-p", owner["secret"], plane.registries["fr-par"])
    assert login.returncode == 0, login.stderr
    wrong = plane.skopeo("login", "--tls-verify=false", "-u", "nologin", "-p", str(uuid.uuid4()), plane.registries["fr-par"])
    assert wrong.returncode != 0
    plane.skopeo("logout", "--all")
    assert not os.path.exists("/run/containers/0/auth.json") or plane.registries["fr-par"] not in open("/run/containers/0/auth.json").read()


@pytest.mark.parametrize("authorization", [
    "Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer something",
    "Basic " + base64.b64encode(b"nologin:" + str(uuid.uuid4()).encode()).decode(), "Basic"])
def test_broken_or_wrong_credentials_are_401(plane, authorization):
    status, body = token(plane, ["repository:a/b:pull"], raw_authorization=authorization)
    assert status == 401 and body["type"] == "denied_authentication"


def test_malformed_and_huge_scope_lists(plane):
    owner = plane.create_key()
    credentials = f"nologin:{owner['secret']}"
    status, body = token(plane, ["garbage", "repository:only-two", "repository:UPPER/case:pull", "::", "repository::pull"], credentials)
    assert status == 200 and jwt_claims(body["token"])["access"] == []
    status, body = token(plane, [" ".join(f"repository:ns{index}/x:pull" for index in range(101))], credentials)
    assert status == 400 and body["type"] == "invalid_arguments"
    status, body = token(plane, ["repository:a/b:pull"] * 100, credentials)
    assert status == 200


def test_cross_tenant_mount_source_gets_nothing_but_plain_public_pull_works(plane):
    owner, other = plane.create_key(), plane.create_key()
    mine = plane.namespace(owner, unique("mine"))
    public = plane.namespace(other, unique("theirs"), is_public=True)
    theirs = f"{public['name']}/base"
    _, body = token(plane, [f"repository:{theirs}:pull"], f"nologin:{owner['secret']}")
    assert access(body)[("repository", theirs)] == ["pull"]
    _, body = token(plane, [f"repository:{mine['name']}/app:pull,push", f"repository:{theirs}:pull"], f"nologin:{owner['secret']}")
    granted = access(body)
    assert granted[("repository", theirs)] == [] and granted[("repository", f"{mine['name']}/app")] == ["pull", "push"]
    _, body = token(plane, ["registry:catalog:*"], f"nologin:{owner['secret']}")
    assert access(body)[("registry", "catalog")] == []


def test_duplicate_event_counts_once_and_wrong_secret_changes_nothing(plane):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("dup"))
    envelope = push_event(str(uuid.uuid4()), f"{namespace['name']}/dup", "v1", [100, 200])
    status, body = post_events(plane, envelope, secret="wrong-secret-value")
    assert status == 401
    assert plane.get_namespace(owner, namespace)["image_count"] == 0
    assert post_events(plane, envelope) == (200, {"applied": 1, "duplicates": 0, "ignored": 0, "failed": 0})
    assert post_events(plane, envelope) == (200, {"applied": 0, "duplicates": 1, "ignored": 0, "failed": 0})
    current = plane.get_namespace(owner, namespace)
    assert (current["size"], current["image_count"]) == (300, 1)


def test_large_envelopes_are_applied_and_oversized_ones_acknowledged_without_blocking(plane):
    """Envelopes over the API's 64 KiB are read up to 1 MiB (a push of thousands of layers); one
    over 1 MiB is answered 200 and dropped (a non-2xx would block the registry's queue forever),
    and the next event is applied. Before the route had its own limit, both got 413."""
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("large"))
    large = push_event(str(uuid.uuid4()), f"{namespace['name']}/many-layers", "v1", [1] * 3000)
    assert 64 * 1024 < len(json.dumps(large)) < 1024 * 1024
    assert post_events(plane, large) == (200, {"applied": 1, "duplicates": 0, "ignored": 0, "failed": 0})
    assert (plane.get_namespace(owner, namespace)["size"], plane.get_namespace(owner, namespace)["image_count"]) == (3000, 1)
    huge = push_event(str(uuid.uuid4()), f"{namespace['name']}/too-many", "v1", [1] * 12000)
    assert len(json.dumps(huge)) > 1024 * 1024
    assert post_events(plane, huge, secret="wrong-secret-value")[0] == 401
    status, body = post_events(plane, huge)
    assert (status, body["applied"]) == (200, 0) and "ignored" in body["problem"]
    assert plane.get_namespace(owner, namespace)["image_count"] == 1
    after = push_event(str(uuid.uuid4()), f"{namespace['name']}/after", "v1", [5])
    assert post_events(plane, after)[1]["applied"] == 1
    assert plane.get_namespace(owner, namespace)["image_count"] == 2


def test_hostile_event_bodies_are_acknowledged_and_change_nothing(plane):
    before = plane.sql("SELECT count(*) || '/' || COALESCE(sum(size), 0) FROM images")
    assert post_events(plane, None, raw=b"this is not json")[0] == 200
    assert post_events(plane, None, raw=b'{"events": "nope"}')[0] == 200
    assert post_events(plane, None, raw=b'{"events": [1, null, {"id": 5}]}')[0] == 200
    status, body = post_events(plane, push_event(str(uuid.uuid4()), f"{unique('unknown')}/x", "v1", [10]))
    assert (status, body["ignored"]) == (200, 1)
    status, body = post_events(plane, push_event(str(uuid.uuid4()), "no-slash", "v1", [10]))
    assert (status, body["ignored"]) == (200, 1)
    assert post_events(plane, None, raw=b"{}", region="mars-1")[0] == 200
    assert post_events(plane, None, raw=b"{}", secret="")[0] == 401
    assert plane.sql("SELECT count(*) || '/' || COALESCE(sum(size), 0) FROM images") == before


def test_reconciler_repairs_events_a_registry_lost(plane, tmp_path):
    """nl-ams's registry sends its events to a port nobody listens on (they are lost, as after a
    restart); a second registryd on the same database reconciles that region: a plain image and
    a multi-arch index (children fetched), and a ghost row removed."""
    dead = f"http://127.0.0.1:{_free_port()}"
    plane.start_registry("nl-ams", notify_url=dead)
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("lost"), region="nl-ams")
    layout = Layout(str(tmp_path / "img"))
    manifest, blobs = layout.manifest([layout.layer(b"lost" * 100, "lost")])
    layout.tag(manifest, "v1")
    pushed = plane.push(layout, "v1", f"{namespace['name']}/app", owner, region="nl-ams")
    assert pushed.returncode == 0, pushed.stderr
    amd, amd_blobs = layout.manifest([layout.layer(b"amd" * 300, "bin")], architecture="amd64")
    arm, arm_blobs = layout.manifest([layout.layer(b"arm" * 200, "bin")], architecture="arm64")
    layout.tag(layout.index([(amd, "amd64"), (arm, "arm64")]), "multi")
    pushed = plane.push(layout, "multi", f"{namespace['name']}/multi", owner, region="nl-ams", all_images=True)
    assert pushed.returncode == 0, pushed.stderr
    assert plane.get_namespace(owner, namespace)["image_count"] == 0
    # A row for content the registry does not hold: the reconciler removes it.
    plane.sql(f"INSERT INTO images (namespace_id, name, size) VALUES ('{namespace['id']}', 'ghost', 0)")
    # An event id received two days ago: each pass forgets ids older than a day.
    plane.sql("INSERT INTO registry_events (id, received_at) VALUES ('ancient-event', now() - interval '2 days')")
    plane.spawn_registryd(_free_port(), REGISTRY_URLS=f"nl-ams=http://{plane.registries['nl-ams']}", RECONCILE_INTERVAL_S="1")
    expected = distinct_size(blobs) + distinct_size(amd_blobs, arm_blobs)
    done = poll(lambda: (lambda n: n if n["size"] == expected and n["image_count"] == 2 else None)(
        plane.get_namespace(owner, namespace)), what=f"reconciled size {expected}")
    assert done["image_count"] == 2
    tags = plane.sql(f"SELECT string_agg(t.name, ',' ORDER BY t.name) FROM tags t JOIN images i ON i.id = t.image_id "
                     f"WHERE i.namespace_id = '{namespace['id']}'")
    assert tags == "multi,v1"
    poll(lambda: plane.sql("SELECT count(*) FROM registry_events WHERE id = 'ancient-event'") == "0", what="old event id pruned")


def test_manifest_deleted_in_the_registry_untags_and_empties_the_image(plane, tmp_path):
    """DELETE /v2/<repo>/manifests/<digest> with the owner's token: the registry's delete events
    remove the manifest and its tag; the image stays, with size 0 (as the real API keeps it)."""
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("del"))
    layout = Layout(str(tmp_path / "img"))
    manifest, blobs = layout.manifest([layout.layer(b"to be deleted", "gone")])
    layout.tag(manifest, "v1")
    repository = f"{namespace['name']}/app"
    assert plane.push(layout, "v1", repository, owner).returncode == 0
    poll(lambda: plane.image_size(namespace, "app") == str(distinct_size(blobs)), what="image recorded")
    _, body = token(plane, [f"repository:{repository}:delete"], f"nologin:{owner['secret']}")
    request = urllib.request.Request(f"http://{plane.registries['fr-par']}/v2/{repository}/manifests/{manifest['digest']}",
                                     method="DELETE", headers={"Authorization": "Bearer " + body["token"]})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202
    done = poll(lambda: (lambda n: n if n["size"] == 0 else None)(plane.get_namespace(owner, namespace)), what="size 0")
    assert done["image_count"] == 1
    assert plane.sql(f"SELECT count(*) FROM tags t JOIN images i ON i.id = t.image_id WHERE i.namespace_id = '{namespace['id']}'") == "0"
    stranger = plane.create_key()
    _, denied = token(plane, [f"repository:{repository}:delete"], f"nologin:{stranger['secret']}")
    assert access(denied)[("repository", repository)] == []


def test_logs_never_hold_the_signing_key_secrets_or_tokens(plane):
    owner = plane.create_key()
    status, body = token(plane, ["repository:a/b:pull"], f"nologin:{owner['secret']}")
    assert status == 200
    logs = plane.logs()
    assert '"path":"/auth/v1/regions/fr-par/token"' in logs  # the requests were logged, at debug level
    key_lines = [line for line in open(plane.key).read().splitlines() if not line.startswith("-----")]
    assert not any(line in logs for line in key_lines)
    assert owner["secret"] not in logs and plane.secret not in logs and body["token"].split(".")[2] not in logs


def test_events_the_database_refuses_are_acknowledged_and_the_queue_moves_on(plane):
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("odd"))
    repository = f"{namespace['name']}/odd"
    with_nul = push_event(str(uuid.uuid4()), repository, "v\u0000x", [7])
    with_nul["events"][0]["target"]["references"][0]["mediaType"] = "evil\u0000type"
    assert post_events(plane, with_nul)[1]["applied"] == 1
    too_long = push_event(str(uuid.uuid4()), repository, "v1", [5])
    too_long["events"][0]["target"]["digest"] = "sha256:" + secrets.token_hex(15000)  # beyond a btree entry's limit
    status, body = post_events(plane, too_long)
    assert (status, body["failed"]) == (200, 1)
    assert post_events(plane, push_event(str(uuid.uuid4()), repository, "v2", [100]))[1]["applied"] == 1
    poll(lambda: plane.image_size(namespace, "odd") == "100", what="the next event applied")


def test_a_late_event_for_a_gone_or_newer_namespace_queues_its_content_for_deletion(plane):
    """An event that arrives after its namespace was deleted, or whose push predates the namespace
    now holding the name, belongs to nobody: recorded nowhere, deleted in the registry."""
    orphan = push_event(str(uuid.uuid4()), f"{unique('gone')}/app", "v1", [10])
    assert post_events(plane, orphan)[1]["ignored"] == 1
    digest = orphan["events"][0]["target"]["digest"]
    assert plane.sql(f"SELECT repository FROM registry_deletions WHERE digest = '{digest}'") == orphan["events"][0]["target"]["repository"]
    owner = plane.create_key()
    namespace = plane.namespace(owner, unique("newer"))
    stale = push_event(str(uuid.uuid4()), f"{namespace['name']}/app", "v1", [10])
    stale["events"][0]["timestamp"] = "2001-01-01T00:00:00.123456789Z"
    assert post_events(plane, stale)[1]["ignored"] == 1
    assert plane.get_namespace(owner, namespace)["image_count"] == 0
    fresh = push_event(str(uuid.uuid4()), f"{namespace['name']}/app", "v1", [10])
    fresh["events"][0]["timestamp"] = "2100-01-01T00:00:00+01:00"
    assert post_events(plane, fresh)[1]["applied"] == 1
