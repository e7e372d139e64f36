"""Service rows: create, look up, list, update, heartbeat and soft-delete."""

from __future__ import annotations

import datetime
import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from kumo import exception
from kumo.db import api, models


def _create(host: str = "host1", binary: str = "kumo-compute", **values: Any) -> dict:
    return api.service_create({"host": host, "binary": binary, "topic": "compute", **values})


def _raw_service(service_id: int) -> dict:
    """The row as stored, deleted or not."""
    table = models.Service.__table__
    with api.session() as session:
        row = session.execute(sa.select(table).where(table.c.id == service_id)).mappings().one()
    return dict(row)


def test_create_fills_in_uuid_and_defaults(db: str) -> None:
    service = _create()

    assert type(service) is dict
    assert uuid.UUID(service["uuid"])
    assert service["host"] == "host1"
    assert service["binary"] == "kumo-compute"
    assert service["report_count"] == 0
    assert service["disabled"] is False
    assert service["forced_down"] is False
    assert service["last_seen_up"] is None
    assert service["deleted"] == 0
    assert isinstance(service["created_at"], datetime.datetime)
    assert service["created_at"].tzinfo is None


def test_create_keeps_a_given_uuid(db: str) -> None:
    given = str(uuid.uuid4())

    assert _create(uuid=given)["uuid"] == given


def test_create_refuses_a_second_live_service_on_the_same_host_and_binary(db: str) -> None:
    _create()

    with pytest.raises(exception.ServiceExists) as raised:
        _create()

    assert "host1" in str(raised.value)
    assert len(api.service_get_all()) == 1


def test_same_binary_on_another_host_is_a_different_service(db: str) -> None:
    first = _create("host1")
    second = _create("host2")

    assert first["id"] != second["id"]


def test_get_and_get_by_uuid_return_the_same_row(db: str) -> None:
    service = _create()

    assert api.service_get(service["id"]) == service
    assert api.service_get_by_uuid(service["uuid"]) == service


def test_get_by_host_and_binary(db: str) -> None:
    compute = _create("host1", "kumo-compute")
    _create("host1", "kumo-network", topic="network")

    assert api.service_get_by_host_and_binary("host1", "kumo-compute") == compute


def test_lookups_of_missing_services_raise_not_found(db: str) -> None:
    with pytest.raises(exception.ServiceNotFound):
        api.service_get(42)
    with pytest.raises(exception.ServiceNotFound):
        api.service_get_by_uuid(str(uuid.uuid4()))
    with pytest.raises(exception.HostBinaryNotFound):
        api.service_get_by_host_and_binary("nohost", "kumo-compute")
    with pytest.raises(exception.ServiceNotFound):
        api.service_update(42, {"disabled": True})
    with pytest.raises(exception.ServiceNotFound):
        api.service_heartbeat(42)
    with pytest.raises(exception.ServiceNotFound):
        api.service_destroy(42)


def test_get_all_filters_by_binary_host_and_disabled_in_id_order(db: str) -> None:
    compute1 = _create("host1", "kumo-compute")
    network1 = _create("host1", "kumo-network", topic="network")
    compute2 = _create("host2", "kumo-compute", disabled=True, disabled_reason="maintenance")

    def ids(services: list[dict]) -> list[int]:
        return [s["id"] for s in services]

    assert ids(api.service_get_all()) == [compute1["id"], network1["id"], compute2["id"]]
    assert ids(api.service_get_all(binary="kumo-compute")) == [compute1["id"], compute2["id"]]
    assert ids(api.service_get_all(host="host1")) == [compute1["id"], network1["id"]]
    assert ids(api.service_get_all("kumo-compute", "host2")) == [compute2["id"]]
    assert ids(api.service_get_all(binary="kumo-compute", include_disabled=False)) == [
        compute1["id"]
    ]


def test_update_changes_columns_and_stamps_updated_at(db: str) -> None:
    service = _create()

    updated = api.service_update(
        service["id"], {"disabled": True, "disabled_reason": "hardware check"}
    )

    assert updated["disabled"] is True
    assert updated["disabled_reason"] == "hardware check"
    assert updated["updated_at"] is not None
    assert api.service_get(service["id"]) == updated


def test_update_onto_another_services_host_and_binary_raises_service_exists(db: str) -> None:
    _create("host1")
    second = _create("host2")

    with pytest.raises(exception.ServiceExists):
        api.service_update(second["id"], {"host": "host1"})

    assert api.service_get(second["id"])["host"] == "host2"


def test_heartbeat_counts_reports_and_moves_last_seen_up(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = _create()
    first = datetime.datetime(2024, 5, 1, 12, 0, 0)
    second = first + datetime.timedelta(seconds=10)

    monkeypatch.setattr(api, "utcnow", lambda: first)
    after_first = api.service_heartbeat(service["id"])
    monkeypatch.setattr(api, "utcnow", lambda: second)
    after_second = api.service_heartbeat(service["id"])

    assert after_first["report_count"] == 1
    assert after_first["last_seen_up"] == first
    assert after_second["report_count"] == 2
    assert after_second["last_seen_up"] == second
    assert api.service_get(service["id"]) == after_second


def test_concurrent_heartbeats_lose_no_count(db: str) -> None:
    service = _create()
    threads, beats = 4, 10

    def beat() -> None:
        for _ in range(beats):
            api.service_heartbeat(service["id"])

    workers = [threading.Thread(target=beat) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert api.service_get(service["id"])["report_count"] == threads * beats


def test_destroy_soft_deletes_the_row(db: str) -> None:
    service = _create()

    api.service_destroy(service["id"])

    row = _raw_service(service["id"])
    assert row["deleted"] == service["id"]
    assert row["deleted_at"] is not None
    assert api.service_get_all() == []
    with pytest.raises(exception.ServiceNotFound):
        api.service_get(service["id"])
    with pytest.raises(exception.HostBinaryNotFound):
        api.service_get_by_host_and_binary("host1", "kumo-compute")
    with pytest.raises(exception.ServiceNotFound):
        api.service_destroy(service["id"])


def test_destroyed_service_can_be_created_again(db: str) -> None:
    old = _create()
    api.service_destroy(old["id"])

    new = _create()

    assert new["id"] != old["id"]
    assert api.service_get_by_host_and_binary("host1", "kumo-compute") == new


def test_destroy_soft_deletes_the_services_compute_nodes(db: str) -> None:
    service = _create()
    nodes = models.ComputeNode.__table__
    with api.session() as session:
        session.execute(
            sa.insert(nodes).values(
                uuid=str(uuid.uuid4()),
                service_id=service["id"],
                host="host1",
                hypervisor_hostname="node1",
                hypervisor_type="fake",
                hypervisor_version=1,
                vcpus=8,
                memory_mb=16384,
                local_gb=100,
            )
        )

    api.service_destroy(service["id"])

    with api.session() as session:
        node = session.execute(sa.select(nodes)).mappings().one()
    assert node["deleted"] == node["id"]
    assert node["deleted_at"] is not None
