"""Policy enforcement with oslo.policy: defaults in code (:mod:`kumo.policies`),
overridable by the operator's policy file."""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from kumo import exception
from kumo.policies import list_rules

CONF = cfg.CONF

_lock = threading.Lock()
_enforcer: oslo_policy.Enforcer | None = None


class PolicyNotAuthorized(exception.Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


def get_enforcer() -> oslo_policy.Enforcer:
    """The process's enforcer, built on first use (oslo.policy's sample generator
    and the tests call this too)."""
    global _enforcer
    with _lock:
        if _enforcer is None:
            enforcer = oslo_policy.Enforcer(CONF)
            enforcer.register_defaults(list_rules())
            enforcer.load_rules()
            _enforcer = enforcer
        return _enforcer


def reset() -> None:
    global _enforcer
    with _lock:
        if _enforcer is not None:
            _enforcer.clear()
        _enforcer = None


def default_target(context: Any) -> dict[str, Any]:
    return {"project_id": context.project_id, "user_id": context.user_id}


def authorize(context: Any, action: str, target: dict[str, Any] | None = None) -> None:
    """Raise PolicyNotAuthorized (403) unless ``context`` may do ``action`` on ``target``
    (by default the caller's own project and user)."""
    credentials = context.to_policy_values()
    if context.is_admin and "admin" not in credentials.get("roles", []):
        credentials["roles"] = [*credentials.get("roles", []), "admin"]
    try:
        get_enforcer().authorize(action, target or default_target(context), credentials,
                                 do_raise=True, exc=PolicyNotAuthorized, action=action)
    except oslo_policy.InvalidScope:
        raise PolicyNotAuthorized(action=action) from None


def check_is_admin(context: Any) -> bool:
    """Whether ``context`` passes the ``context_is_admin`` rule."""
    return get_enforcer().authorize("context_is_admin", default_target(context),
                                    context.to_policy_values(), do_raise=False)


def can(context: Any, action: str, target: dict[str, Any] | None = None) -> bool:
    """Whether ``context`` may do ``action`` on ``target`` (no exception): for what a
    view shows or a list accepts rather than for whether a request may proceed."""
    try:
        authorize(context, action, target)
    except PolicyNotAuthorized:
        return False
    return True
