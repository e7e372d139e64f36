"""Conductor 1.12 ``instance_power_states`` over the bus: plain rows, and None from
the client when the conductor is older."""

from __future__ import annotations

import pytest

from kumo import context
from kumo.compute import power_state, task_states, vm_states
from kumo.conductor import rpcapi


def _server(conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
            **values: object) -> str:
    [instance] = conductor.instance_create(ctxt, [{
        "project_id": "p1", "user_id": "u1", "display_name": "vm", "memory_mb": 512,
        "vcpus": 1, "root_gb": 1, "host": "cmp1", **values}])
    return instance.uuid


def test_power_states_are_plain_rows_of_the_hosts_servers(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext) -> None:
    active = _server(conductor, ctxt, vm_state=vm_states.ACTIVE, task_state=None,
                     power_state=power_state.RUNNING)
    _server(conductor, ctxt, vm_state=vm_states.ACTIVE, task_state=task_states.REBOOTING)
    _server(conductor, ctxt, host="cmp2", vm_state=vm_states.ACTIVE, task_state=None)
    assert conductor.instance_power_states(ctxt, host="cmp1") == [
        [active, vm_states.ACTIVE, None, power_state.RUNNING]]


def test_an_older_conductor_is_not_asked(
        conductor: rpcapi.ConductorAPI, ctxt: context.RequestContext,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conductor, "can_send_version", lambda version: version < "1.12")
    assert conductor.instance_power_states(ctxt, host="cmp1") is None
