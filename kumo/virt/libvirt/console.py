"""Where the console proxies reach a running guest's VNC or SPICE display.

The port of an ``autoport`` display exists only in the running domain's live
XML, so the address is read from there every time a console is asked for
(and again when kumo-consoleauth checks a token: a guest restarted since may
have another port).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from oslo_config import cfg

from kumo import exception
from kumo.virt import driver

CONF = cfg.CONF

# Listen addresses that name no host a proxy could connect to.
_WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def _proxyclient_address(kind: str) -> str | None:
    if kind == "spice" and CONF.spice.server_proxyclient_address:
        return CONF.spice.server_proxyclient_address
    return CONF.vnc.server_proxyclient_address


def console_address(domain_xml: str, kind: str) -> dict[str, Any]:
    """The :func:`kumo.virt.driver.console_address` of the ``vnc`` or ``spice``
    display in ``domain_xml`` (a live ``XMLDesc``).

    :raises ConsoleTypeUnavailable: no such display, or no port yet (the guest
        does not run).
    """
    for graphics in ET.fromstring(domain_xml).iter("graphics"):
        if graphics.get("type") != kind:
            continue
        port = int(graphics.get("port") or -1)
        tls_port = int(graphics.get("tlsPort") or -1)
        if port <= 0 and tls_port <= 0:
            break
        listen = graphics.get("listen")
        if listen is None:
            element = graphics.find("listen")
            listen = element.get("address") if element is not None else None
        host = _proxyclient_address(kind)
        if not host:
            host = listen if listen not in _WILDCARDS and listen is not None \
                else (CONF.compute.host_ip or "127.0.0.1")
        return driver.console_address(host, port if port > 0 else tls_port,
                                      tls_port if tls_port > 0 else None)
    raise exception.ConsoleTypeUnavailable(console_type=kind)
