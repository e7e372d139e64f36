"""The console address read from a live domain XML (no libvirt needed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kumo import exception
from kumo.conf import CONF
from kumo.virt.libvirt.console import console_address

LIVE = """<domain type='qemu'><devices>
  <graphics type='vnc' port='5903' autoport='yes' listen='127.0.0.1'>
    <listen type='address' address='127.0.0.1'/></graphics>
  <graphics type='spice' port='5904' tlsPort='5905' autoport='yes' listen='0.0.0.0'/>
</devices></domain>"""
DEFINED = """<domain type='qemu'><devices>
  <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
</devices></domain>"""


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    CONF.clear_override("server_proxyclient_address", group="vnc")
    CONF.clear_override("host_ip", group="compute")


def test_vnc_port_and_listen_address_come_from_the_live_xml() -> None:
    assert console_address(LIVE, "vnc") == {
        "host": "127.0.0.1", "port": 5903, "tls_port": None, "internal_access_path": None}


def test_spice_wildcard_listen_is_reached_at_the_host_ip() -> None:
    CONF.set_override("host_ip", "192.0.2.10", group="compute")
    address = console_address(LIVE, "spice")
    assert (address["host"], address["port"], address["tls_port"]) == ("192.0.2.10", 5904,
                                                                      5905)


def test_proxyclient_address_wins() -> None:
    CONF.set_override("server_proxyclient_address", "198.51.100.4", group="vnc")
    assert console_address(LIVE, "vnc")["host"] == "198.51.100.4"


def test_no_port_or_no_display_is_unavailable() -> None:
    with pytest.raises(exception.ConsoleTypeUnavailable):
        console_address(DEFINED, "vnc")
    with pytest.raises(exception.ConsoleTypeUnavailable):
        console_address(DEFINED, "spice")
