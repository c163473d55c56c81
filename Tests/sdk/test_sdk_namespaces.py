"""The official Scaleway Python SDK (sync and async) against registryd, unchanged."""

import asyncio
import uuid

import pytest
from scaleway import Client, ScalewayException, WaitForOptions
from scaleway.registry.v1 import ListNamespacesRequestOrderBy, RegistryV1API
from scaleway_async.registry.v1 import RegistryV1API as AsyncRegistryV1API


def client_for(service, key, **overrides) -> Client:
    settings = dict(access_key=key.access_key, secret_key=key.secret_key,
                    default_organization_id=key.organization_id, default_project_id=key.project_id,
                    default_region="fr-par", api_url=service.url)
    settings.update(overrides)
    return Client(**settings)


@pytest.fixture
def api(service, key):
    return RegistryV1API(client_for(service, key))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_create_get_update_delete(api):
    name = unique("sdk-flow")
    created = api.create_namespace(name=name, description="made by the SDK", is_public=False)
    assert created.name == name
    assert created.status == "ready"
    assert created.region == "fr-par"
    assert created.endpoint == f"rg.fr-par.scw.cloud/{name}"
    assert created.created_at is not None and created.created_at.tzinfo is not None

    fetched = api.get_namespace(namespace_id=created.id)
    assert fetched == created

    updated = api.update_namespace(namespace_id=created.id, is_public=True, description="changed")
    assert updated.is_public is True
    assert updated.description == "changed"
    assert updated.updated_at > created.updated_at

    deleted = api.delete_namespace(namespace_id=created.id)
    assert deleted.status == "deleting"
    with pytest.raises(ScalewayException) as gone:
        api.wait_for_namespace(namespace_id=created.id, options=WaitForOptions(timeout=10, min_delay=1, max_delay=1))
    assert gone.value.status_code == 404


def test_create_without_a_name_lets_the_sdk_invent_one(api):
    created = api.create_namespace(description="", is_public=False)
    assert created.name.startswith("ns-")
    assert api.get_namespace(namespace_id=created.id).name == created.name


def test_list_namespaces_all_pages_for_every_order(service):
    key = service.create_key() if service.binary else None
    if key is None:
        pytest.skip("needs an organization of its own")
    api = RegistryV1API(client_for(service, key))
    names = [f"order-{letter}-{uuid.uuid4().hex[:6]}" for letter in "gcaefbd"]
    created = [api.create_namespace(name=name, description=name[6], is_public=False) for name in names]
    ids = {namespace.id for namespace in created}

    orders = [order.value for order in ListNamespacesRequestOrderBy] + ["region", "status_asc", "status_desc"]
    for order in orders:
        first = api.list_namespaces(order_by=order, page_size=3)
        assert first.total_count == len(names)
        assert len(first.namespaces) == 3
        everything = api.list_namespaces_all(order_by=order, page_size=3)
        assert [namespace.id for namespace in everything][:3] == [namespace.id for namespace in first.namespaces]
        assert {namespace.id for namespace in everything} == ids, order
        assert len(everything) == len(names), order

    by_name = [n.name for n in api.list_namespaces_all(order_by="name_asc", page_size=2)]
    assert by_name == sorted(names)
    by_name_desc = [n.name for n in api.list_namespaces_all(order_by="name_desc")]
    assert by_name_desc == sorted(names, reverse=True)
    by_creation = [n.id for n in api.list_namespaces_all(order_by="created_at_asc", page_size=4)]
    assert by_creation == [namespace.id for namespace in created]
    by_creation_desc = [n.id for n in api.list_namespaces_all(order_by="created_at_desc", page_size=4)]
    assert by_creation_desc == [namespace.id for namespace in reversed(created)]


def test_filters(service, api, key):
    name = unique("sdk-filter")
    created = api.create_namespace(name=name, description="", is_public=False)
    assert [n.id for n in api.list_namespaces(name=name).namespaces] == [created.id]
    assert api.list_namespaces(name=unique("absent")).total_count == 0
    other_project = str(uuid.uuid4())
    in_project = api.create_namespace(name=unique("sdk-project"), description="", is_public=False, project_id=other_project)
    listed = api.list_namespaces(project_id=other_project)
    assert [n.id for n in listed.namespaces] == [in_project.id]
    assert all(n.project_id == key.project_id for n in api.list_namespaces_all())


def test_errors_the_sdk_raises(service, api):
    with pytest.raises(ScalewayException) as bad_name:
        api.create_namespace(name="Not A Valid Name", description="", is_public=False)
    assert bad_name.value.status_code == 400
    assert bad_name.value.response.json()["type"] == "invalid_arguments"

    name = unique("sdk-duplicate")
    api.create_namespace(name=name, description="", is_public=False)
    with pytest.raises(ScalewayException) as duplicate:
        api.create_namespace(name=name, description="", is_public=False)
    assert duplicate.value.status_code == 409

    with pytest.raises(ScalewayException) as missing:
        api.get_namespace(namespace_id=str(uuid.uuid4()))
    assert missing.value.status_code == 404
    assert missing.value.response.json()["type"] == "not_found"

    stranger = RegistryV1API(client_for(service, type("K", (), dict(
        access_key="SCW" + "A" * 17, secret_key=str(uuid.uuid4()),
        organization_id=str(uuid.uuid4()), project_id=str(uuid.uuid4())))()))
    with pytest.raises(ScalewayException) as denied:
        stranger.list_namespaces()
    assert denied.value.status_code == 401
    assert denied.value.response.json()["type"] == "denied_authentication"


def test_other_regions(api):
    name = unique("sdk-region")
    paris = api.create_namespace(name=name, description="", is_public=False)
    warsaw = api.create_namespace(name=name, description="", is_public=False, region="pl-waw")
    assert warsaw.region == "pl-waw"
    assert warsaw.endpoint == f"rg.pl-waw.scw.cloud/{name}"
    assert paris.id != warsaw.id
    assert [n.id for n in api.list_namespaces(region="pl-waw", name=name).namespaces] == [warsaw.id]


def test_async_sdk_flow(service, key):
    async def flow():
        api = AsyncRegistryV1API(client_for(service, key))
        name = unique("sdk-async")
        created = await api.create_namespace(name=name, description="async", is_public=True)
        assert created.is_public is True
        assert (await api.get_namespace(namespace_id=created.id)).name == name
        listed = await api.list_namespaces_all(name=name)
        assert [n.id for n in listed] == [created.id]
        deleted = await api.delete_namespace(namespace_id=created.id)
        assert deleted.status == "deleting"
        with pytest.raises(ScalewayException) as gone:
            await api.wait_for_namespace(namespace_id=created.id,
                                         options=WaitForOptions(timeout=10, min_delay=1, max_delay=1))
        assert gone.value.status_code == 404

    asyncio.run(flow())
