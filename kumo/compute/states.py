"""Which server actions each state allows: the one table the API answers 409 from.

Each :class:`Transition` names the vm_states and task_states an action may
start from (Nova's ``check_instance_state``) and the task state it sets; the
API checks the server it read against it, then moves the task state with a
guarded conductor update expecting :attr:`Transition.expected_task_states`,
so of two racing requests exactly one wins.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kumo import exception
from kumo.compute import task_states, vm_states

# The task states a hard reboot may interrupt (Nova's task_states.ALLOW_REBOOT).
ALLOW_REBOOT: tuple[str | None, ...] = (
    None, task_states.REBOOTING, task_states.REBOOT_PENDING, task_states.REBOOT_STARTED,
    task_states.RESUMING, task_states.REBOOTING_HARD, task_states.UNPAUSING,
    task_states.PAUSING, task_states.SUSPENDING)
# Every task state of a reboot (what kumo-compute expects when it finishes one).
REBOOT_TASK_STATES: tuple[str, ...] = (
    task_states.REBOOTING, task_states.REBOOT_PENDING, task_states.REBOOT_STARTED,
    task_states.REBOOTING_HARD, task_states.REBOOT_PENDING_HARD,
    task_states.REBOOT_STARTED_HARD)


@dataclasses.dataclass(frozen=True)
class Transition:
    """An action's allowed starting states and the task state it sets."""

    #: The action's name in the API's 409 messages ("Cannot 'stop' instance …").
    name: str
    #: vm_states the action is allowed in; None: any.
    vm_states: tuple[str, ...] | None
    #: task_states the action is allowed in; None: any.
    task_states: tuple[str | None, ...] | None = (None,)
    #: The task state the action sets (None: the action sets none).
    task_state: str | None = None
    #: Whether the server must have been launched once (``launched_at`` set).
    must_have_launched: bool = True

    @property
    def expected_task_states(self) -> list[str | None]:
        """The guard of the task-state update: the task states the action may start from."""
        return list(self.task_states) if self.task_states is not None else [None]


def _move(name: str, vm: tuple[str, ...], task_state: str | None) -> Transition:
    """A move action's transition: from an idle server, launched or not."""
    return Transition(name, vm, (None,), task_state, must_have_launched=False)


# Active, stopped, paused or suspended: a guest that is up or down, not moving.
_ANY_POWER_STATE = (vm_states.ACTIVE, vm_states.STOPPED, vm_states.PAUSED, vm_states.SUSPENDED)


TRANSITIONS: dict[str, Transition] = {
    "reboot_soft": Transition("reboot", (vm_states.ACTIVE,), (None,),
                              task_states.REBOOTING),
    "reboot_hard": Transition("reboot", (vm_states.ACTIVE, vm_states.STOPPED,
                                         vm_states.PAUSED, vm_states.SUSPENDED,
                                         vm_states.ERROR),
                              ALLOW_REBOOT, task_states.REBOOTING_HARD),
    "stop": Transition("stop", (vm_states.ACTIVE, vm_states.ERROR), (None,),
                       task_states.POWERING_OFF),
    "start": Transition("start", (vm_states.STOPPED,), (None,), task_states.POWERING_ON),
    "pause": Transition("pause", (vm_states.ACTIVE,), (None,), task_states.PAUSING),
    "unpause": Transition("unpause", (vm_states.PAUSED,), (None,), task_states.UNPAUSING),
    "suspend": Transition("suspend", (vm_states.ACTIVE,), (None,), task_states.SUSPENDING),
    "resume": Transition("resume", (vm_states.SUSPENDED,), (None,), task_states.RESUMING),
    "update metadata": Transition(
        "update metadata", (vm_states.ACTIVE, vm_states.PAUSED, vm_states.SUSPENDED,
                            vm_states.STOPPED), None),
    "delete metadata": Transition(
        "delete metadata", (vm_states.ACTIVE, vm_states.PAUSED, vm_states.SUSPENDED,
                            vm_states.STOPPED), None),
    # The move actions, keyed by the body's key of ``POST /servers/{id}/action``.
    "resize": _move("resize", (vm_states.ACTIVE, vm_states.STOPPED), task_states.RESIZE_PREP),
    "migrate": _move("migrate", (vm_states.ACTIVE, vm_states.STOPPED),
                     task_states.RESIZE_PREP),
    "confirmResize": _move("confirm_resize", (vm_states.RESIZED,),
                           task_states.RESIZE_CONFIRMING),
    "revertResize": _move("revert_resize", (vm_states.RESIZED,),
                          task_states.RESIZE_REVERTING),
    "rebuild": _move("rebuild", (vm_states.ACTIVE, vm_states.STOPPED, vm_states.ERROR),
                     task_states.REBUILDING),
    "createImage": _move("createImage", _ANY_POWER_STATE, task_states.IMAGE_SNAPSHOT),
    "restore": _move("restore", (vm_states.SOFT_DELETED,), task_states.RESTORING),
    "shelve": _move("shelve", _ANY_POWER_STATE, task_states.SHELVING),
    "unshelve": _move("unshelve", (vm_states.SHELVED, vm_states.SHELVED_OFFLOADED),
                      task_states.UNSHELVING),
    "shelveOffload": _move("shelve_offload", (vm_states.SHELVED,),
                           task_states.SHELVING_OFFLOADING),
    "os-migrateLive": _move("live_migrate", (vm_states.ACTIVE, vm_states.PAUSED),
                            task_states.MIGRATING),
    # The real delete of a SOFT_DELETED server: it sets no task state.
    "forceDelete": _move("forceDelete", (vm_states.SOFT_DELETED,), None),
    # A DELETE that keeps the server for [DEFAULT] reclaim_instance_interval.
    "soft_delete": _move("soft_delete", _ANY_POWER_STATE + (vm_states.ERROR, vm_states.RESCUED),
                         task_states.SOFT_DELETING),
}


def check(action: str, instance: Any) -> Transition:
    """The transition of ``action`` if ``instance``'s state allows it.

    :raises InstanceInvalidState: (409) naming the vm_state, task_state or
        launched_at that forbids it, with Nova's message.
    """
    transition = TRANSITIONS[action]
    uuid = instance.uuid
    if transition.vm_states is not None and instance.vm_state not in transition.vm_states:
        raise exception.InstanceInvalidState(action=transition.name, instance_uuid=uuid,
                                             attr="vm_state", state=instance.vm_state)
    if (transition.task_states is not None
            and instance.task_state not in transition.task_states):
        raise exception.InstanceInvalidState(action=transition.name, instance_uuid=uuid,
                                             attr="task_state", state=instance.task_state)
    launched = instance.launched_at if instance.obj_attr_is_set("launched_at") else None
    if transition.must_have_launched and not launched:
        raise exception.InstanceInvalidState(action=transition.name, instance_uuid=uuid,
                                             attr="launched_at", state=launched)
    return transition
