"""Policy enforcement with oslo.policy: defaults in code (:mod:`kumo.policies`),
overridable by the operator's policy file.

oslo.policy's own enforcer does all of its reload work on every check: it
searches the configuration directories for the policy file (several
``stat`` calls when there is none), walks every registered default, and
inspects each check's signature while evaluating. That cost about 0.5 ms a
check, several checks a request (bench/README.md). So kumo's enforcer:

* looks at the policy files (oslo.policy's own mtime-based reload) at most
  every :data:`RULES_CHECK_INTERVAL` seconds, and at once after SIGHUP
  (the services' SIGHUP re-reads the configuration, which calls our hook);
* remembers each decision by (rule, target, credentials) until the rules
  may have changed, as long as every loaded rule is made of checks whose
  answer depends on nothing else (roles, rule references, ``field:value``
  matches, and/or/not, true/false). A policy file with an ``http:`` check or
  a check of a plugin turns the memo off: such checks may answer differently
  each time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import policy as oslo_policy

from kumo import exception
from kumo.policies import list_rules

CONF = cfg.CONF

#: Seconds between two looks at the policy files (a change shows within this).
RULES_CHECK_INTERVAL = 5.0
#: Decisions remembered at most (all are dropped when full: a new set builds up).
MAX_DECISIONS = 4096

# Checks whose answer is a function of (rules, target, credentials) alone.
_PURE_CHECKS = (_checks.FalseCheck, _checks.TrueCheck, _checks.NotCheck, _checks.AndCheck,
                _checks.OrCheck, _checks.RuleCheck, _checks.RoleCheck, _checks.GenericCheck)

_lock = threading.Lock()
_enforcer: Enforcer | None = None
_MISSING = object()


class PolicyNotAuthorized(exception.Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


def _pure(check: Any) -> bool:
    """Whether ``check`` (a tree of checks) answers from its arguments alone."""
    if type(check) not in _PURE_CHECKS:
        return False
    if isinstance(check, (_checks.AndCheck, _checks.OrCheck)):
        return all(_pure(rule) for rule in check.rules)
    if isinstance(check, _checks.NotCheck):
        return _pure(check.rule)
    return True


def _typed(value: Any) -> tuple[Any, ...]:
    # With its type: 1, 1.0 and True (or a list and a tuple) are equal keys, yet checks
    # tell them apart (``%(x)s`` formatting, ``field:value`` matching lists only).
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(_typed(item) for item in value))
    return (type(value), value)


def _frozen(values: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """``values`` as a hashable key (each value with its type, lists as tuples), None
    when one is not hashable."""
    # (_typed inlined for the scalars: this runs twice a check.)
    items = [(name, _typed(value) if isinstance(value, (list, tuple)) else (type(value), value))
             for name, value in values.items()]
    items.sort()  # by name alone: a mapping's names differ, the values are never compared
    frozen = tuple(items)
    try:
        hash(frozen)
    except TypeError:
        return None
    return frozen


class Enforcer(oslo_policy.Enforcer):
    """oslo.policy's enforcer, reloading its rules only when due and remembering
    decisions while the rules stay the same (see the module's docstring)."""

    def __init__(self, conf: cfg.ConfigOpts, **kwargs: Any) -> None:
        self._loaded_at: float | None = None
        self._decisions: dict[tuple[Any, ...], Any] = {}
        self._memo = False
        super().__init__(conf, **kwargs)

    def _forget(self) -> None:
        """Drop the decisions and look at the rules again at the next check."""
        self._decisions = {}
        self._memo = False
        self._loaded_at = None

    def load_rules(self, force_reload: bool = False) -> None:
        now = time.monotonic()
        if (not force_reload and self._loaded_at is not None
                and now - self._loaded_at < RULES_CHECK_INTERVAL):
            return
        super().load_rules(force_reload)
        # Whatever changed, the decisions made so far may no longer hold.
        self._decisions = {}
        self._memo = all(_pure(check) for check in self.rules.values())
        self._loaded_at = now

    def set_rules(self, *args: Any, **kwargs: Any) -> None:
        super().set_rules(*args, **kwargs)
        if hasattr(self, "_decisions"):  # oslo.policy's __init__ sets rules first
            self._forget()

    def clear(self) -> None:
        super().clear()
        self._forget()

    def register_default(self, default: oslo_policy.RuleDefault) -> None:
        super().register_default(default)
        self._forget()

    def decide(self, action: str, target: Mapping[str, Any],
               credentials: Mapping[str, Any]) -> Any:
        """``authorize(action, target, credentials)`` without raising on a denial
        (PolicyNotRegistered and InvalidScope still raise), remembered when it may be."""
        self.load_rules()
        key = None
        if self._memo:
            frozen_target = _frozen(target)
            frozen_credentials = _frozen(credentials)
            if frozen_target is not None and frozen_credentials is not None:
                key = (action, frozen_target, frozen_credentials)
                found = self._decisions.get(key, _MISSING)
                if found is not _MISSING:
                    return found
        decisions = self._decisions
        result = self.authorize(action, target, credentials, do_raise=False)
        if key is not None and decisions is self._decisions:
            # (Not when the rules were reloaded meanwhile: the answer may be stale.)
            if len(decisions) >= MAX_DECISIONS:
                decisions.clear()
            decisions[key] = result
        return result


def _on_config_mutated(conf: cfg.ConfigOpts, changed: Any) -> None:
    """SIGHUP re-reads the configuration: read the policy files again too."""
    if _enforcer is not None:
        _enforcer._forget()


def get_enforcer() -> Enforcer:
    """The process's enforcer, built on first use (oslo.policy's sample generator
    and the tests call this too)."""
    global _enforcer
    with _lock:
        if _enforcer is None:
            enforcer = Enforcer(CONF)
            enforcer.register_defaults(list_rules())
            enforcer.load_rules()
            CONF.register_mutate_hook(_on_config_mutated)
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


def _credentials(context: Any) -> Any:
    # A plain dict of what oslo.context's mapping shows: every lookup in that
    # mapping is Python code, and a check makes dozens. (A key set on the mapping
    # itself would not show: its own values win over any set since.)
    credentials = dict(context.to_policy_values())
    if context.is_admin and "admin" not in credentials.get("roles", []):
        credentials["roles"] = [*credentials.get("roles", []), "admin"]
    return credentials


def authorize(context: Any, action: str, target: dict[str, Any] | None = None) -> None:
    """Raise PolicyNotAuthorized (403) unless ``context`` may do ``action`` on ``target``
    (by default the caller's own project and user)."""
    try:
        allowed = get_enforcer().decide(action, target or default_target(context),
                                        _credentials(context))
    except oslo_policy.InvalidScope:
        raise PolicyNotAuthorized(action=action) from None
    if not allowed:
        raise PolicyNotAuthorized(action=action)


def check_is_admin(context: Any) -> bool:
    """Whether ``context`` passes the ``context_is_admin`` rule."""
    return bool(get_enforcer().decide("context_is_admin", default_target(context),
                                      context.to_policy_values()))


def can(context: Any, action: str, target: dict[str, Any] | None = None) -> bool:
    """Whether ``context`` may do ``action`` on ``target`` (no exception): for what a
    view shows or a list accepts rather than for whether a request may proceed."""
    try:
        authorize(context, action, target)
    except PolicyNotAuthorized:
        return False
    return True
