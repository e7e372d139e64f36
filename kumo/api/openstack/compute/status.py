"""A server's API status from its vm_state and task_state, and back (the ``status`` filter).

The table is the Compute API reference's (Nova's ``_STATE_MAP``): each
vm_state has a default status, which some task states override.
"""

from __future__ import annotations

from kumo.compute import task_states, vm_states

DEFAULT = "default"
# Set when the guest password is being changed (os-changePassword, not yet in kumo).
UPDATING_PASSWORD = "updating_password"

_RESIZING = {
    task_states.RESIZE_PREP: "RESIZE",
    task_states.RESIZE_MIGRATING: "RESIZE",
    task_states.RESIZE_MIGRATED: "RESIZE",
    task_states.RESIZE_FINISH: "RESIZE",
}
_REBUILDING = {
    task_states.REBUILDING: "REBUILD",
    task_states.REBUILD_BLOCK_DEVICE_MAPPING: "REBUILD",
    task_states.REBUILD_SPAWNING: "REBUILD",
}

STATE_MAP: dict[str, dict[str | None, str]] = {
    vm_states.ACTIVE: {
        DEFAULT: "ACTIVE",
        task_states.REBOOTING: "REBOOT",
        task_states.REBOOT_PENDING: "REBOOT",
        task_states.REBOOT_STARTED: "REBOOT",
        task_states.REBOOTING_HARD: "HARD_REBOOT",
        task_states.REBOOT_PENDING_HARD: "HARD_REBOOT",
        task_states.REBOOT_STARTED_HARD: "HARD_REBOOT",
        UPDATING_PASSWORD: "PASSWORD",
        **_REBUILDING,
        task_states.MIGRATING: "MIGRATING",
        **_RESIZING,
    },
    vm_states.BUILDING: {DEFAULT: "BUILD"},
    vm_states.STOPPED: {DEFAULT: "SHUTOFF", **_RESIZING, **_REBUILDING},
    vm_states.RESIZED: {
        DEFAULT: "VERIFY_RESIZE",
        task_states.RESIZE_REVERTING: "REVERT_RESIZE",
    },
    vm_states.PAUSED: {DEFAULT: "PAUSED", task_states.MIGRATING: "MIGRATING"},
    vm_states.SUSPENDED: {DEFAULT: "SUSPENDED"},
    vm_states.RESCUED: {DEFAULT: "RESCUE"},
    vm_states.ERROR: {DEFAULT: "ERROR", **_REBUILDING},
    vm_states.DELETED: {DEFAULT: "DELETED"},
    vm_states.SOFT_DELETED: {DEFAULT: "SOFT_DELETED"},
    vm_states.SHELVED: {DEFAULT: "SHELVED"},
    vm_states.SHELVED_OFFLOADED: {DEFAULT: "SHELVED_OFFLOADED"},
}


def status_from_state(vm_state: str | None, task_state: str | None = None) -> str:
    """The API status of a server in ``vm_state`` doing ``task_state``; UNKNOWN if unmapped."""
    task_map = STATE_MAP.get(vm_state or "", {DEFAULT: "UNKNOWN"})
    return task_map.get(task_state, task_map[DEFAULT])


def states_from_status(statuses: list[str]) -> tuple[list[str], list[str | None] | None]:
    """The vm_states and task_states a ``status`` filter selects.

    Returns ``(vm_states, task_states)``; ``task_states`` is None when a
    status is some vm_state's default (then any task state matches, as in
    Nova). An unknown status selects nothing: ``([], None)``.
    """
    wanted = {status.strip().upper() for status in statuses}
    found_vm: set[str] = set()
    found_task: set[str | None] = set()
    for vm_state, task_map in STATE_MAP.items():
        for task_state, status in task_map.items():
            if status in wanted:
                found_vm.add(vm_state)
                found_task.add(task_state)
    if not found_vm or DEFAULT in found_task:
        return sorted(found_vm), None
    return sorted(found_vm), sorted(found_task, key=str)
