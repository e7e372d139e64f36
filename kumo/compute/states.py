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
