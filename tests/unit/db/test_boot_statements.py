"""The conductor's per-boot and per-delete writes with fewer statements: the quota
check's grouped reads, the claim and destroy reading the instance once, and action
events found and written without repeated look-ups. Behaviour must not change."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from kumo import exception
from kumo.db import (
    action_events,
    api,
    compute_nodes,
    instance_actions,
    instance_writes,
    instances,
    migration_claims,
    quotas,
)

RESOURCES = {"vcpus": 1, "memory_mb": 512, "disk_gb": 1}


def _values(user_id: str = "u1", vcpus: int = 1, memory_mb: int = 512) -> dict[str, Any]:
    return {"uuid": str(uuid.uuid4()), "project_id": "p1", "user_id": user_id,
            "display_name": "s", "vcpus": vcpus, "memory_mb": memory_mb, "root_gb": 1,
            "ephemeral_gb": 0, "flavor": {"vcpus": vcpus, "memory_mb": memory_mb}}


@pytest.fixture
def statements(db: str) -> Iterator[list[str]]:
    """The SQL statements the engine runs from now on."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = api.get_engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _nodes() -> list[dict[str, Any]]:
    return compute_nodes.compute_nodes_report("h1", None, [
        {"hypervisor_hostname": f"n{i}", "vcpus": 8, "memory_mb": 8192, "local_gb": 100}
        for i in range(2)])


# --- quota ------------------------------------------------------------------------------


def test_the_create_quota_check_is_four_statements(statements: list[str]) -> None:
    values = _values()
    statements.clear()
    created = instances.instance_create_uuids([values], min_count=1)
    # lock, limits, usage, resizing servers; then the insert
    assert len(statements) == 5
    assert created == [values["uuid"]]
    assert quotas.usage_get("p1")["instances"] == 1


def test_user_limits_and_a_resizing_server_of_another_user_count(db: str) -> None:
    quotas.quota_update("p1", {"cores": 6})
    quotas.quota_update("p1", {"instances": 2}, user_id="u1")
    other = instances.instance_create([_values(user_id="u2", vcpus=2)], min_count=1)[0]
    # u2's server resizes to 4 vCPUs: it counts 4 for the project, nothing for u1.
    instances.instance_update(other["uuid"], {"system_metadata": {
        "new_flavor": json.dumps({"vcpus": 4, "memory_mb": 512}),
        "old_flavor": json.dumps({"vcpus": 2, "memory_mb": 512})}})
    instances.instance_create([_values()], min_count=1)
    with pytest.raises(exception.TooManyInstances) as error:
        instances.instance_create([_values(), _values()], min_count=2)
    # The project's cores first, then the user's instances (u1 has 1 of 2).
    assert error.value.message == (
        "Quota exceeded for cores, instances: Requested 2, but already used 5 of 6 cores")
    instances.instance_create([_values()], min_count=1)  # the 6th core
    with pytest.raises(exception.TooManyInstances) as error:
        instances.instance_create([_values(vcpus=0)], min_count=1)
    # The project's limits pass; the user's instance limit does not.
    assert error.value.message == (
        "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances")


def test_check_deltas_counts_server_groups_and_names_the_user_scope(db: str) -> None:
    quotas.quota_update("p1", {"server_groups": 5})
    quotas.quota_update("p1", {"server_groups": 0}, user_id="u1")
    with api.session() as db_session:
        quotas.server_group_check(db_session, "p1", "u2")
        with pytest.raises(exception.OverQuota) as error:
            quotas.server_group_check(db_session, "p1", "u1")
    assert "already used 0 of 0 server_groups" in error.value.message


# --- claim and destroy ---------------------------------------------------------------------


def test_a_claim_reads_the_instance_once(statements: list[str]) -> None:
    node = _nodes()[0]
    instance_uuid = instances.instance_create_uuids([_values()])[0]
    statements.clear()
    claimed = compute_nodes.compute_node_claim(node["uuid"], instance_uuid, RESOURCES, None)
    reads = [s for s in statements if s.lstrip().startswith("SELECT") and "instances" in
             s.split("FROM")[1].split()[0]]
    assert len(reads) == 1
    assert (claimed["vcpus_used"], claimed["memory_mb_used"]) == (1, 512)
    system_metadata = instances.instance_get(instance_uuid)["system_metadata"]
    assert system_metadata[instances.CLAIMED_NODE] == node["uuid"]


def test_a_destroy_gives_back_both_claims_in_one_write(statements: list[str]) -> None:
    source, destination = _nodes()
    instance_uuid = instances.instance_create_uuids([_values()])[0]
    compute_nodes.compute_node_claim(source["uuid"], instance_uuid, RESOURCES, None)
    migration_claims.migration_claim(destination["uuid"], instance_uuid, RESOURCES, None)
    instances.instance_update(instance_uuid, {"system_metadata": {"keep": "me"}})
    assert compute_nodes.compute_node_get(destination["uuid"])["vcpus_used"] == 1
    statements.clear()
    with api.session() as db_session:
        system_metadata = instances.instance_destroy_in(db_session, instance_uuid)
    assert system_metadata == {"keep": "me"}
    assert [s.split()[0] for s in statements].count("SELECT") == 1
    for node in (source, destination):
        used = compute_nodes.compute_node_get(node["uuid"])
        assert (used["vcpus_used"], used["memory_mb_used"], used["running_vms"]) == (0, 0, 0)
    stored = instances.instance_get(instance_uuid, read_deleted=True)["system_metadata"]
    assert stored == {"keep": "me"}
    with api.session() as db_session:  # again: nothing given back twice
        assert instances.instance_destroy_in(db_session, instance_uuid) == {"keep": "me"}
    assert compute_nodes.compute_node_get(source["uuid"])["vcpus_used"] == 0
    with pytest.raises(exception.InstanceNotFound), api.session() as db_session:
        instances.instance_destroy_in(db_session, str(uuid.uuid4()))


# --- action events ---------------------------------------------------------------------------


def test_events_of_a_boot_are_recorded_as_before(db: str) -> None:
    instance_uuid = instances.instance_create_uuids([_values()])[0]
    with api.session() as db_session:
        assert instance_actions.event_record_in(
            db_session, instance_uuid, "create", "req-1", "u1", "p1", "schedule",
            start_time=None, result="Success") is not None
        assert instance_actions.event_record_in(
            db_session, str(uuid.uuid4()), "create", "req-1", "u1", "p1", "schedule",
            start_time=None, result="Success") is None
    action = action_events.action_get_by_request_id(instance_uuid, "req-1")
    assert action["finish_time"] is not None and action["action"] == "create"
    assert action["created_at"] is not None

    with api.session() as db_session:
        assert instance_actions.event_start_in(db_session, instance_uuid, "req-1", "build",
                                               host="h1")
        assert not instance_actions.event_start_in(db_session, instance_uuid, "req-2",
                                                   "build")
    with api.session() as db_session:
        started = action_events.event_finish_in(db_session, instance_uuid, "req-1", "build",
                                                result="Success")
        # Never started: recorded with the start it is given, finished at once.
        stopped = action_events.event_finish_in(
            db_session, instance_uuid, "req-1", "terminate", host="h1", result="Error",
            traceback="tb", start_time="2026-01-01T00:00:00Z")
    events = {event["id"]: event
              for event in action_events.action_get_by_request_id(instance_uuid,
                                                                  "req-1")["events"]}
    assert [e["event"] for e in events.values()] == ["schedule", "build", "terminate"]
    assert events[started]["host"] == "h1" and events[started]["result"] == "Success"
    assert events[started]["created_at"] is not None
    assert events[stopped]["start_time"].isoformat() == "2026-01-01T00:00:00"
    assert (events[stopped]["result"], events[stopped]["traceback"]) == ("Error", "tb")
    assert events[stopped]["finish_time"] is not None
    assert action_events.action_get_by_request_id(instance_uuid, "req-1")["message"] == "Error"
    with pytest.raises(exception.InstanceActionNotFound), api.session() as db_session:
        action_events.event_finish_in(db_session, instance_uuid, "req-9", "build")


def test_a_build_take_starts_its_event_in_one_statement(statements: list[str]) -> None:
    instance_uuid = instances.instance_create_uuids([_values()])[0]
    instance_actions.action_event_start(instance_uuid, "create", "req-1", "u1", "p1", "s")
    statements.clear()
    refused = instance_writes.take_build(
        instance_uuid, {}, lambda row: "no",
        event={"request_id": "req-1", "event": "build", "host": "h"})
    assert [s.split()[0] for s in statements] == ["INSERT", "SELECT"]
    assert refused == "no"
    events = action_events.action_get_by_request_id(instance_uuid, "req-1")["events"]
    assert [(e["event"], e["host"], e["finish_time"]) for e in events] == [
        ("s", None, None), ("build", "h", None)]


def test_a_claim_returns_the_node_as_claimed_even_when_it_claimed_there_before(
        db: str) -> None:
    first, second = _nodes()
    instance_uuid = instances.instance_create_uuids([_values()])[0]
    claimed = compute_nodes.compute_node_claim(first["uuid"], instance_uuid, RESOURCES, None)
    assert (claimed["vcpus_used"], claimed["running_vms"]) == (1, 1)
    again = compute_nodes.compute_node_claim(first["uuid"], instance_uuid, RESOURCES, None)
    assert (again["vcpus_used"], again["running_vms"]) == (1, 1)
    moved = compute_nodes.compute_node_claim(second["uuid"], instance_uuid, RESOURCES, None)
    assert moved["vcpus_used"] == 1
    assert compute_nodes.compute_node_get(first["uuid"])["vcpus_used"] == 0
    # What the UPDATE returned is what a read answers.
    assert moved == compute_nodes.compute_node_get(second["uuid"])


# --- prebuilt statements -----------------------------------------------------------------


def test_guarded_updates_reuse_one_statement_per_shape(db: str) -> None:
    # Built once per shape (columns, guard kinds), bound at execution: the values and
    # the expected states vary per call, the statement object does not.
    first, second = (instances.instance_create([_values()])[0]["uuid"] for _ in range(2))
    instances._UPDATES.clear()
    for instance_uuid, expected in ((first, ["scheduling", None]), (second, ["scheduling"])):
        instances.instance_update(instance_uuid, {"display_name": f"n-{instance_uuid}"},
                                  expected_task_state=expected)
    assert len(instances._UPDATES) == 2  # [x, None] and [x] are two shapes
    instances.instance_update(first, {"display_name": "again"},
                              expected_task_state=["spawning", "scheduling", None])
    assert len(instances._UPDATES) == 2
    assert instances.instance_get(first)["display_name"] == "again"
    assert instances.instance_get(second)["display_name"] == f"n-{second}"
    # The guard still refuses, with the same errors.
    instances.instance_update(second, {"task_state": "deleting"})
    with pytest.raises(exception.UnexpectedDeletingTaskStateError):
        instances.instance_update(second, {"display_name": "x"},
                                  expected_task_state="scheduling")
    with pytest.raises(exception.UnexpectedTaskStateError):
        instances.instance_update(first, {"display_name": "x"}, expected_task_state=[],
                                  expected_vm_state="building")


def test_task_state_error_names_a_delete_under_way() -> None:
    assert instances.task_state_error("u", ["a", None], None) is None
    assert type(instances.task_state_error("u", "a", "deleting")) is \
        exception.UnexpectedDeletingTaskStateError
    error = instances.task_state_error("u", ["a"], "b")
    assert type(error) is exception.UnexpectedTaskStateError


def test_a_claim_and_its_schedule_write_are_one_transaction(db: str) -> None:
    node = _nodes()[0]
    kept, refused = instances.instance_create_uuids([_values(), _values()])
    instances.instance_update(refused, {"task_state": "deleting"})
    values = {"host": "h1", "node": "n0", "task_state": "spawning"}

    instance = instance_writes.claim_and_update(
        node["uuid"], RESOURCES, {"vcpus": 8}, kept, values, None,
        expected_task_state="scheduling")
    assert (instance["task_state"], instance["system_metadata"]["claimed_node"]) == (
        "spawning", node["uuid"])
    # A guard that refuses the move leaves no claim behind: one rollback for both.
    with pytest.raises(exception.UnexpectedTaskStateError):
        instance_writes.claim_and_update(node["uuid"], RESOURCES, {"vcpus": 8}, refused,
                                         values, None, expected_task_state="scheduling")
    assert "claimed_node" not in instances.instance_get(refused)["system_metadata"]
    # A node with no room refuses before anything is written.
    with pytest.raises(exception.ComputeResourcesUnavailable):
        instance_writes.claim_and_update(node["uuid"], RESOURCES, {"vcpus": 1}, refused,
                                         values, None, expected_task_state="deleting")
    assert instances.instance_get(refused)["task_state"] == "deleting"
    assert compute_nodes.compute_node_get_all()[0]["vcpus_used"] == 1


def test_a_claim_writes_the_instance_once_and_reads_it_back_after_the_commit(
        statements: list[str]) -> None:
    before, after = _nodes()
    [server] = instances.instance_create_uuids([_values()])
    compute_nodes.compute_node_claim(before["uuid"], server, RESOURCES, None)
    engine = api.get_engine()

    def commit(conn: Any) -> None:
        statements.append("COMMIT")

    sa.event.listen(engine, "commit", commit)
    try:
        statements.clear()
        instance = instance_writes.claim_and_update(
            after["uuid"], RESOURCES, None, server,
            {"task_state": "spawning", "system_metadata": {"kept": "yes"}}, None,
            expected_task_state="scheduling")
    finally:
        sa.event.remove(engine, "commit", commit)

    # The claim and the move's own keys recorded together; the earlier claim given back.
    assert instance["task_state"] == "spawning"
    assert (instance["system_metadata"]["claimed_node"],
            instance["system_metadata"]["kept"]) == (after["uuid"], "yes")
    used = {node["uuid"]: node["vcpus_used"] for node in compute_nodes.compute_node_get_all()}
    assert used == {before["uuid"]: 0, after["uuid"]: 1}
    # One UPDATE of the instance in the transaction; its read back after the commit.
    commit_at = statements.index("COMMIT")
    written = [s for s in statements[:commit_at] if s.lstrip().startswith("UPDATE instances")]
    assert len(written) == 1
    assert any(s.lstrip().startswith("SELECT") and "FROM instances" in s
               for s in statements[commit_at:])


def _transaction(statements: list[str]) -> list[str]:
    """The first word of each statement, from the transaction's first write on."""
    words = [s.split()[0] for s in statements]
    first_write = next(i for i, word in enumerate(words) if word in ("INSERT", "UPDATE"))
    return words[first_write:]


def test_the_steps_of_a_boot_and_a_delete_read_nothing_while_they_write(
        statements: list[str]) -> None:
    """SQLite's writers wait for each other: the ACTIVE write, the delete's start and its
    end look their step up before they write, and read the server back after."""
    instance_uuid = instances.instance_create_uuids([_values()])[0]
    instance_actions.action_event_start(instance_uuid, "create", "req-1", "u1", "p1",
                                        "build")
    statements.clear()
    instance_writes.update_finishing_event(
        instance_uuid, {"vm_state": "active", "task_state": None},
        {"request_id": "req-1", "event": "build", "host": "h1", "result": "Success"})
    assert _transaction(statements) == ["UPDATE", "UPDATE", "UPDATE"]
    assert action_events.action_get_by_request_id(instance_uuid, "req-1")["events"][0][
        "finish_time"] is not None

    statements.clear()
    started = instance_writes.start_delete(
        instance_uuid, "p1", {"project_id": "p1", "user_id": "u1"}, False,
        {"action": "delete", "request_id": "req-2", "user_id": "u1", "project_id": "p1"},
        [None])
    assert started["started"] and started["instance"]["task_state"] == "deleting"
    assert _transaction(statements)[:2] == ["UPDATE", "INSERT"]

    statements.clear()
    instance_writes.destroy_finishing_event(
        instance_uuid, {"request_id": "req-2", "event": "terminate", "host": "h1",
                        "result": "Success"})
    # The step looked up before the write: the transaction's reads are the claims'.
    assert not any("instance_actions" in s and s.startswith("SELECT")
                   for s in statements[len(statements) - len(_transaction(statements)):])
    events = action_events.action_get_by_request_id(instance_uuid, "req-2")["events"]
    assert [(e["event"], e["result"]) for e in events] == [("terminate", "Success")]
    with pytest.raises(exception.InstanceNotFound):
        instances.instance_get(instance_uuid)
