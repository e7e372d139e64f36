"""The request context: who asks, for which project, under which request id.

It travels with every RPC message (see :mod:`kumo.rpc`) so the request id of
an API call shows up in the logs of every service that worked on it.
"""

from __future__ import annotations

from typing import Any

from oslo_context import context


class RequestContext(context.RequestContext):
    """oslo.context's context plus the roles-derived admin flag kumo uses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_admin and "admin" in (self.roles or []):
            self.is_admin = True

    @classmethod
    def from_dict(cls, values: dict[str, Any], **kwargs: Any) -> RequestContext:
        return super().from_dict(values, **kwargs)

    def elevated(self) -> RequestContext:
        """A copy of this context with admin rights, for internal bookkeeping."""
        ctx = RequestContext.from_dict(self.to_dict())
        ctx.is_admin = True
        if "admin" not in ctx.roles:
            ctx.roles = [*ctx.roles, "admin"]
        return ctx


def get_admin_context(**kwargs: Any) -> RequestContext:
    """A context for a service's own work (heartbeats, periodic tasks)."""
    return RequestContext(is_admin=True, roles=["admin"], overwrite=False, **kwargs)
