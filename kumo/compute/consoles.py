"""kumo-compute's remote consoles (RPC API 1.4): connection info for a new console
token, and the port check kumo-consoleauth makes before it honours a token.

The token is made here, beside the driver that knows the guest's display, as
Nova did; the caller (kumo-api) then registers it with kumo-consoleauth and
hands the URL out. Nothing is recorded on the server: asking for a console
changes no state. kumo-compute only remembers, in memory, which servers it
handed a console out for, so that deleting one of the many servers that never
had one sends kumo-consoleauth nothing (a cast, ~3 ms of CPU per delete over
all daemons). A server that leaves the host (its move confirmed, a live
migration's source cleaned up, shelve offloaded) has its tokens dropped too,
and leaves the set: the guest's display here is gone, and the set keeps only
servers this host still runs. A token this process does not know of (handed
out before a restart) is harmless: it expires on its own, and
kumo-consoleauth's check of it fails once the server is gone.
"""

from __future__ import annotations

import functools
import urllib.parse
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import uuidutils

from kumo import exception
from kumo.compute import power_state

LOG = logging.getLogger(__name__)
CONF = cfg.CONF

# Console type -> (protocol, the option group and option of its public base URL).
CONSOLE_TYPES: dict[str, tuple[str, str, str]] = {
    "novnc": ("vnc", "vnc", "novncproxy_base_url"),
    "xvpvnc": ("vnc", "vnc", "xvpvncproxy_base_url"),
    "spice-html5": ("spice", "spice", "html5proxy_base_url"),
    "spice-direct": ("spice", "spice", "spice_direct_proxy_base_url"),
}
# Power states whose guest has a live display.
_DISPLAY_STATES = (power_state.RUNNING, power_state.PAUSED)


def protocol_of(console_type: str) -> str | None:
    """The protocol (``vnc``, ``spice``) of a console type kumo serves, else None."""
    entry = CONSOLE_TYPES.get(console_type)
    return entry[0] if entry else None


def access_url(console_type: str, token: str) -> str:
    """The URL a user opens for ``console_type``: its base URL with the token.

    noVNC 1.x takes the WebSocket path (with the token) from its ``path``
    parameter; the other clients read ``token`` itself.
    """
    _protocol, group, option = CONSOLE_TYPES[console_type]
    base = getattr(getattr(CONF, group), option)
    query = {"path": f"?token={token}"} if console_type == "novnc" else {"token": token}
    separator = "&" if urllib.parse.urlsplit(base).query else "?"
    return f"{base}{separator}{urllib.parse.urlencode(query)}"


class ConsolesMixin:
    """The console endpoints of :class:`kumo.compute.manager.ComputeManager`."""

    host: str
    driver: Any

    @functools.cached_property
    def consoles_handed_out(self) -> set[str]:
        """Uuids of the servers this process handed a console out for."""
        return set()

    @functools.cached_property
    def consoleauth(self) -> Any:
        """kumo-consoleauth's RPC client, made on first use; it gives up after one
        reconnection attempt, so a delete never waits on an absent broker."""
        from kumo.consoleauth import rpcapi as consoleauth_rpcapi

        return consoleauth_rpcapi.ConsoleAuthAPI(retry=1)

    def get_vnc_console(self, context: Any, instance: Any, console_type: str) -> dict[str, Any]:
        """Connection info of a new ``novnc`` or ``xvpvnc`` console of the server:
        ``{"token", "console_type", "host", "port", "tls_port",
        "internal_access_path", "access_url"}``.

        :raises ConsoleTypeUnavailable: VNC is disabled here, or the guest has no display.
        :raises ConsoleTypeInvalid: ``console_type`` is not a VNC one.
        :raises InstanceNotReady: the guest is not on this host or does not run.
        """
        return self._console(context, instance, console_type, "vnc")

    def get_spice_console(self, context: Any, instance: Any,
                          console_type: str) -> dict[str, Any]:
        """As :meth:`get_vnc_console` for ``spice-html5`` (and 2.99's ``spice-direct``)."""
        return self._console(context, instance, console_type, "spice")

    def validate_console_port(self, context: Any, instance: Any, port: int,
                              console_type: str) -> bool:
        """Whether ``port`` is still the display of the server's running guest (a
        token outlives a restart of its guest, whose display may move)."""
        protocol = protocol_of(console_type)
        if protocol is None:
            return False
        try:
            address = self._display(context, instance, protocol)
        except (exception.KumoException, NotImplementedError) as error:
            LOG.info("Console of server %s is gone: %s", instance.uuid, error)
            return False
        return int(port) in (address["port"], address.get("tls_port"))

    def drop_console_tokens(self, context: Any, instance: Any) -> None:
        """Have kumo-consoleauth forget the server's console tokens (it was deleted, or
        left this host: kumo.compute.move_actions calls it then too).

        A cast: the delete must not wait on, nor fail for, a consoleauth that is
        away; its tokens then expire on their own and a check of one fails anyway,
        because the server is gone (see kumo-consoleauth's check_token). Sent only
        for a server this process handed a console out for.
        """
        if instance.uuid not in self.consoles_handed_out:
            return
        self.consoles_handed_out.discard(instance.uuid)
        try:
            self.consoleauth.delete_tokens_for_instance(context, instance_uuid=instance.uuid)
        except Exception as error:
            LOG.warning("Could not drop the console tokens of server %s: %s",
                        instance.uuid, error)

    # -- helpers -----------------------------------------------------------------------

    def _console(self, context: Any, instance: Any, console_type: str,
                 protocol: str) -> dict[str, Any]:
        if not getattr(CONF, protocol).enabled:
            raise exception.ConsoleTypeUnavailable(console_type=console_type)
        if protocol_of(console_type) != protocol:
            raise exception.ConsoleTypeInvalid(console_type=console_type)
        address = self._display(context, instance, protocol)
        token = uuidutils.generate_uuid()
        self.consoles_handed_out.add(instance.uuid)
        LOG.info("Console %s of server %s handed out (token %s...)", console_type,
                 instance.uuid, token[:6])
        return {"token": token, "console_type": console_type, **address,
                "access_url": access_url(console_type, token)}

    def _display(self, context: Any, instance: Any, protocol: str) -> dict[str, Any]:
        if instance.host != self.host:
            raise exception.InstanceNotReady(instance_id=instance.uuid)
        try:
            state = self.driver.get_info(instance)
        except exception.InstanceNotFound:
            raise exception.InstanceNotReady(instance_id=instance.uuid) from None
        if state not in _DISPLAY_STATES:
            raise exception.InstanceNotReady(instance_id=instance.uuid)
        getter = self.driver.get_vnc_console if protocol == "vnc" \
            else self.driver.get_spice_console
        return getter(context, instance)
