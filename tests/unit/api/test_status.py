"""vm_state × task_state → the Compute API's server status, and back."""

from __future__ import annotations

import pytest

from kumo.api.openstack.compute import status
from kumo.compute import task_states, vm_states


@pytest.mark.parametrize(("vm_state", "task_state", "expected"), [
    (vm_states.BUILDING, task_states.SCHEDULING, "BUILD"),
    (vm_states.BUILDING, task_states.SPAWNING, "BUILD"),
    (vm_states.BUILDING, task_states.DELETING, "BUILD"),
    (vm_states.ACTIVE, None, "ACTIVE"),
    (vm_states.ACTIVE, task_states.DELETING, "ACTIVE"),
    (vm_states.ACTIVE, task_states.REBOOTING, "REBOOT"),
    (vm_states.ACTIVE, task_states.REBOOT_STARTED, "REBOOT"),
    (vm_states.ACTIVE, task_states.REBOOTING_HARD, "HARD_REBOOT"),
    (vm_states.ACTIVE, task_states.REBOOT_PENDING_HARD, "HARD_REBOOT"),
    (vm_states.ACTIVE, status.UPDATING_PASSWORD, "PASSWORD"),
    (vm_states.ACTIVE, task_states.REBUILDING, "REBUILD"),
    (vm_states.ACTIVE, task_states.REBUILD_SPAWNING, "REBUILD"),
    (vm_states.ACTIVE, task_states.MIGRATING, "MIGRATING"),
    (vm_states.ACTIVE, task_states.RESIZE_PREP, "RESIZE"),
    (vm_states.ACTIVE, task_states.RESIZE_FINISH, "RESIZE"),
    (vm_states.ACTIVE, task_states.POWERING_OFF, "ACTIVE"),
    (vm_states.STOPPED, None, "SHUTOFF"),
    (vm_states.STOPPED, task_states.RESIZE_MIGRATING, "RESIZE"),
    (vm_states.STOPPED, task_states.REBUILDING, "REBUILD"),
    (vm_states.RESIZED, None, "VERIFY_RESIZE"),
    (vm_states.RESIZED, task_states.RESIZE_CONFIRMING, "VERIFY_RESIZE"),
    (vm_states.RESIZED, task_states.RESIZE_REVERTING, "REVERT_RESIZE"),
    (vm_states.PAUSED, None, "PAUSED"),
    (vm_states.PAUSED, task_states.MIGRATING, "MIGRATING"),
    (vm_states.SUSPENDED, None, "SUSPENDED"),
    (vm_states.RESCUED, None, "RESCUE"),
    (vm_states.ERROR, None, "ERROR"),
    (vm_states.ERROR, task_states.DELETING, "ERROR"),
    (vm_states.ERROR, task_states.REBUILDING, "REBUILD"),
    (vm_states.DELETED, None, "DELETED"),
    (vm_states.SOFT_DELETED, None, "SOFT_DELETED"),
    (vm_states.SHELVED, None, "SHELVED"),
    (vm_states.SHELVED_OFFLOADED, None, "SHELVED_OFFLOADED"),
    ("no-such-state", None, "UNKNOWN"),
    (None, None, "UNKNOWN"),
])
def test_status_from_state(vm_state: str, task_state: str | None, expected: str) -> None:
    assert status.status_from_state(vm_state, task_state) == expected


def test_every_vm_state_has_a_status() -> None:
    assert all(status.status_from_state(state) != "UNKNOWN" for state in vm_states.ALL)


@pytest.mark.parametrize(("statuses", "expected"), [
    (["ACTIVE"], ([vm_states.ACTIVE], None)),
    (["active "], ([vm_states.ACTIVE], None)),
    (["SHUTOFF"], ([vm_states.STOPPED], None)),
    (["BUILD"], ([vm_states.BUILDING], None)),
    (["REBOOT"], ([vm_states.ACTIVE], ["reboot_pending", "reboot_started", "rebooting"])),
    (["RESIZE"], ([vm_states.ACTIVE, vm_states.STOPPED],
                  ["resize_finish", "resize_migrated", "resize_migrating", "resize_prep"])),
    (["REVERT_RESIZE"], ([vm_states.RESIZED], ["resize_reverting"])),
    (["MIGRATING"], ([vm_states.ACTIVE, vm_states.PAUSED], ["migrating"])),
    (["ERROR"], ([vm_states.ERROR], None)),
    (["SHUTOFF", "ERROR"], ([vm_states.ERROR, vm_states.STOPPED], None)),
    (["BOGUS"], ([], None)),
])
def test_states_from_status(statuses: list[str], expected: tuple) -> None:
    assert status.states_from_status(statuses) == expected


def test_every_status_round_trips() -> None:
    for vm_state, task_map in status.STATE_MAP.items():
        for task_state, api_status in task_map.items():
            vm_list, task_list = status.states_from_status([api_status])
            assert vm_state in vm_list
            assert task_list is None or task_state in task_list
