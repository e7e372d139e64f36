"""The power actions over the fake bus: the 1.2 casts and call reach the host's manager."""

from __future__ import annotations

from typing import Any

import pytest

from kumo.compute import manager as compute_manager
from kumo.compute import rpcapi as compute_rpcapi
from kumo.compute import task_states, vm_states

from .conftest import HOST, REQUEST_SPEC, StubConductor


@pytest.mark.usefixtures("compute_on_bus")
def test_stop_cast_and_console_call_reach_the_host(
        compute: compute_manager.ComputeManager, conductor: StubConductor,
        make_instance: Any, ctxt: Any) -> None:
    instance = make_instance()
    compute.build_and_run_instance(ctxt, instance, HOST, REQUEST_SPEC)
    instance.task_state = task_states.POWERING_OFF
    client = compute_rpcapi.ComputeAPI()
    client.stop_instance(ctxt, instance=instance, host=HOST)
    # The build recorded its own event (compute_build_and_run_instance) first.
    with conductor.called:
        conductor.called.wait_for(
            lambda: conductor.methods().count("instance_action_event_finish") == 2, 5)
    assert instance.vm_state == vm_states.STOPPED

    output = client.get_console_output(ctxt, instance=instance, tail_length=1, host=HOST)
    assert output.endswith("powered off\n") and output.count("\n") == 1

    instance.task_state = task_states.REBOOTING_HARD
    client.reboot_instance(ctxt, instance=instance, reboot_type="HARD", host=HOST)
    with conductor.called:
        conductor.called.wait_for(
            lambda: conductor.methods().count("instance_action_event_finish") == 3, 5)
    assert (instance.vm_state, instance.task_state) == (vm_states.ACTIVE, None)
