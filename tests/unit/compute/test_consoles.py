"""kumo-compute's remote consoles over the fake driver: token and connection info,
the checks before it, and the port check kumo-consoleauth relies on."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest

from kumo import exception
from kumo.compute import power_state
from kumo.compute.consoles import access_url
from kumo.compute.manager import ComputeManager
from tests.unit.compute.conftest import REQUEST_SPEC


@pytest.fixture
def running(compute: ComputeManager, ctxt: Any, make_instance: Callable[..., Any]) -> Any:
    instance = make_instance()
    compute.build_and_run_instance(ctxt, instance=instance, node=instance.node,
                                   request_spec=REQUEST_SPEC)
    return instance


def test_vnc_console_gives_token_display_and_novnc_url(
        compute: ComputeManager, ctxt: Any, running: Any, flags: Callable[..., None]) -> None:
    flags(console_host="10.0.0.7", vnc_port=5907)
    flags(group="vnc", novncproxy_base_url="http://proxy.test:6080/vnc_lite.html")
    info = compute.get_vnc_console(ctxt, instance=running, console_type="novnc")
    assert (info["host"], info["port"], info["console_type"]) == ("10.0.0.7", 5907, "novnc")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(info["access_url"]).query)
    assert query == {"path": [f"?token={info['token']}"]}
    assert info["access_url"].startswith("http://proxy.test:6080/vnc_lite.html?")
    again = compute.get_vnc_console(ctxt, instance=running, console_type="novnc")
    assert again["token"] != info["token"]


def test_spice_and_xvp_urls_carry_the_token_itself(
        compute: ComputeManager, ctxt: Any, running: Any, flags: Callable[..., None]) -> None:
    info = compute.get_spice_console(ctxt, instance=running, console_type="spice-html5")
    assert info["access_url"].endswith(f"spice_auto.html?token={info['token']}")
    assert access_url("xvpvnc", "abc").endswith("/console?token=abc")


def test_console_refused_for_wrong_type_disabled_or_stopped_guest(
        compute: ComputeManager, ctxt: Any, running: Any, driver: Any,
        flags: Callable[..., None], make_instance: Callable[..., Any]) -> None:
    with pytest.raises(exception.ConsoleTypeInvalid):
        compute.get_vnc_console(ctxt, instance=running, console_type="spice-html5")
    driver.set_power_state(running.uuid, power_state.SHUTDOWN)
    with pytest.raises(exception.InstanceNotReady):
        compute.get_vnc_console(ctxt, instance=running, console_type="novnc")
    with pytest.raises(exception.InstanceNotReady):  # no guest at all
        compute.get_vnc_console(ctxt, instance=make_instance(), console_type="novnc")
    flags(group="vnc", enabled=False)
    with pytest.raises(exception.ConsoleTypeUnavailable):
        compute.get_vnc_console(ctxt, instance=running, console_type="novnc")


def test_validate_console_port_follows_the_guest(
        compute: ComputeManager, ctxt: Any, running: Any, driver: Any,
        flags: Callable[..., None]) -> None:
    flags(vnc_port=5911)
    assert compute.validate_console_port(ctxt, instance=running, port=5911,
                                         console_type="novnc")
    assert not compute.validate_console_port(ctxt, instance=running, port=5912,
                                             console_type="novnc")
    driver.set_power_state(running.uuid, power_state.SHUTDOWN)
    assert not compute.validate_console_port(ctxt, instance=running, port=5911,
                                             console_type="novnc")


def test_console_tokens_are_dropped_only_for_servers_handed_a_console(
        compute: ComputeManager, ctxt: Any, running: Any,
        make_instance: Callable[..., Any]) -> None:
    casts: list[str] = []

    class ConsoleAuth:
        def delete_tokens_for_instance(self, context: Any, instance_uuid: str) -> None:
            casts.append(instance_uuid)

    compute.consoleauth = ConsoleAuth()
    quiet = make_instance()
    compute.drop_console_tokens(ctxt, quiet)  # never had a console: nothing sent
    assert casts == []
    compute.get_vnc_console(ctxt, instance=running, console_type="novnc")
    compute.get_spice_console(ctxt, instance=running, console_type="spice-html5")
    compute.drop_console_tokens(ctxt, running)
    compute.drop_console_tokens(ctxt, running)  # forgotten after the first drop
    assert casts == [running.uuid]


def test_a_server_that_leaves_the_host_is_forgotten_with_its_tokens(
        compute: ComputeManager, ctxt: Any, running: Any) -> None:
    casts: list[str] = []

    class ConsoleAuth:
        def delete_tokens_for_instance(self, context: Any, instance_uuid: str) -> None:
            casts.append(instance_uuid)

    compute.consoleauth = ConsoleAuth()
    compute.get_vnc_console(ctxt, instance=running, console_type="novnc")
    assert running.uuid in compute.consoles_handed_out
    # The source of a finished move drops what it kept, the server's consoles too.
    compute.cleanup_move_source(ctxt, running)
    assert running.uuid not in compute.consoles_handed_out
    assert casts == [running.uuid]
    compute.drop_console_tokens(ctxt, running)  # a later delete sends nothing more
    assert casts == [running.uuid]
