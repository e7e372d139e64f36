"""A stop's clean shutdown: how long kumo-compute lets the guest OS shut down."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from kumo import context
from kumo.compute import manager as compute_manager
from kumo.compute import power, task_states, vm_states
from kumo.conf import CONF
from kumo.objects.instance import Instance
from tests.unit.compute.conftest import HOST, REQUEST_SPEC


def _with_image_properties(instance: Instance, properties: dict[str, Any]) -> Instance:
    spec = {"image": {"id": "i1", "properties": properties}}
    instance.system_metadata = {"request_spec": json.dumps(spec)}
    return instance


def test_the_timeout_is_the_image_property_else_the_option(
        make_instance: Callable[..., Instance]) -> None:
    instance = make_instance()
    instance.system_metadata = {}
    assert power.shutdown_timeout(instance) == CONF.shutdown_timeout == 60
    assert power.shutdown_timeout(
        _with_image_properties(instance, {"os_shutdown_timeout": "7"})) == 7
    assert power.shutdown_timeout(
        _with_image_properties(instance, {"os_shutdown_timeout": "0"})) == 0
    assert power.shutdown_timeout(
        _with_image_properties(instance, {"os_shutdown_timeout": "soon"})) == 60
    CONF.set_override("shutdown_timeout", 5)
    try:
        assert power.shutdown_timeout(_with_image_properties(instance, {})) == 5
    finally:
        CONF.clear_override("shutdown_timeout")


def test_stop_asks_the_driver_for_a_clean_shutdown(
        compute: compute_manager.ComputeManager, make_instance: Callable[..., Instance],
        ctxt: context.RequestContext, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = make_instance()
    compute.build_and_run_instance(ctxt, instance, HOST, REQUEST_SPEC)
    asked: list[float] = []
    real = compute.driver.power_off
    monkeypatch.setattr(compute.driver, "power_off",
                        lambda c, i, timeout=0: asked.append(timeout) or real(c, i, timeout))
    _with_image_properties(instance, {"os_shutdown_timeout": "3"})
    instance.task_state = task_states.POWERING_OFF
    compute.stop_instance(ctxt, instance)
    assert asked == [3] and instance.vm_state == vm_states.STOPPED
