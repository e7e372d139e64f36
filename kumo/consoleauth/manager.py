"""kumo-consoleauth's RPC endpoint: registers console tokens and checks them for the proxies.

A token is honoured while it is younger than ``[consoleauth] token_ttl`` and
its server still runs with that display on the host it had when the token was
registered: every check asks the server's kumo-compute
(``validate_console_port``), so a token of a deleted, moved or restarted guest
stops working at once. Tokens are in this process's
memory (:mod:`kumo.consoleauth.tokens`).
"""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from kumo import exception, manager
from kumo.consoleauth import tokens

LOG = logging.getLogger(__name__)
CONF = cfg.CONF


def _short(token: str) -> str:
    # Never log a whole token: it is a credential for the console.
    return f"{token[:6]}..."


class ConsoleAuthManager(manager.Manager):
    """RPC API 1.1 (see :mod:`kumo.consoleauth.rpcapi`)."""

    target = messaging.Target(version="1.1")

    def __init__(self, host: str | None = None, binary: str | None = None,
                 conductor: Any = None, compute: Any = None) -> None:
        """``conductor`` and ``compute`` (RPC clients) are for tests."""
        super().__init__(host=host, binary=binary or "kumo-consoleauth")
        self.tokens = tokens.TokenStore(lambda: CONF.consoleauth.token_ttl)
        self._conductor = conductor
        self._compute = compute

    @property
    def conductor(self) -> Any:
        if self._conductor is None:
            from kumo.conductor import rpcapi as conductor_rpcapi

            self._conductor = conductor_rpcapi.ConductorAPI()
        return self._conductor

    @property
    def compute(self) -> Any:
        if self._compute is None:
            from kumo.compute import rpcapi as compute_rpcapi

            self._compute = compute_rpcapi.ComputeAPI()
        return self._compute

    def authorize_console(self, context: Any, token: str, console_type: str, host: str,
                          port: int, internal_access_path: str | None, instance_uuid: str,
                          access_url: str | None = None,
                          tls_port: int | None = None) -> None:
        # The token is bound to the compute host the display is on now: after a
        # migration the old host's port may be another guest's display.
        compute_host = self.conductor.instance_get(context, instance_uuid=instance_uuid).host
        self.tokens.add(token, {
            "token": token, "console_type": console_type, "host": host, "port": port,
            "tls_port": tls_port, "internal_access_path": internal_access_path,
            "instance_uuid": instance_uuid, "access_url": access_url,
            "compute_host": compute_host})
        LOG.info("Console token %s of server %s registered (%s, %ss)", _short(token),
                 instance_uuid, console_type, CONF.consoleauth.token_ttl)

    def check_token(self, context: Any, token: str) -> dict[str, Any] | None:
        info = self.tokens.get(token)
        if info is None:
            LOG.info("Console token %s is unknown or expired", _short(token))
            return None
        if not self._still_valid(context, info):
            self.tokens.discard(token)
            return None
        return info

    def delete_tokens_for_instance(self, context: Any, instance_uuid: str) -> None:
        count = self.tokens.discard_instance(instance_uuid)
        if count:
            LOG.info("Dropped %d console token(s) of server %s", count, instance_uuid)

    def _still_valid(self, context: Any, info: dict[str, Any]) -> bool:
        """The server exists, is still on the token's compute host, and its guest's
        display is still at the token's port."""
        uuid = info["instance_uuid"]
        try:
            instance = self.conductor.instance_get(context, instance_uuid=uuid)
        except exception.InstanceNotFound:
            LOG.info("Console token %s: server %s is gone", _short(info["token"]), uuid)
            self.tokens.discard_instance(uuid)
            return False
        if not instance.host or instance.host != info.get("compute_host"):
            LOG.info("Console token %s: server %s is no longer on host %s",
                     _short(info["token"]), uuid, info.get("compute_host"))
            return False
        valid = self.compute.validate_console_port(
            context, instance=instance, port=info["port"],
            console_type=info["console_type"], host=instance.host)
        if not valid:
            LOG.info("Console token %s: server %s has no display at port %s any more",
                     _short(info["token"]), uuid, info["port"])
        return bool(valid)
