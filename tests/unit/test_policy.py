"""kumo.policy: oslo.policy's answers, with the policy files read only when due
(or after SIGHUP) and decisions remembered while the rules stay the same."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from oslo_policy import _checks
from oslo_policy import policy as oslo_policy

from kumo import context, policy
from kumo.conf import CONF

SHOW = "os_compute_api:servers:show"
OWN = {"project_id": "p", "user_id": "bob"}


def member() -> context.RequestContext:
    return context.RequestContext(user_id="bob", project_id="p", roles=["member", "reader"],
                                  overwrite=False)


@pytest.fixture
def policy_file(tmp_path: pathlib.Path) -> Iterator[pathlib.Path]:
    """An operator's policy file (empty: the defaults in code apply)."""
    path = tmp_path / "policy.yaml"
    path.write_text("{}\n")
    conf_file = tmp_path / "kumo.conf"
    conf_file.write_text(f"[oslo_policy]\npolicy_file = {path}\n")
    CONF(["--config-file", str(conf_file)], project="kumo", default_config_files=[],
         default_config_dirs=[])
    policy.reset()
    yield path
    CONF([], project="kumo", default_config_files=[], default_config_dirs=[])
    policy.reset()


def rewrite(path: pathlib.Path, text: str) -> None:
    """New rules with a later mtime (oslo.policy reloads a file whose mtime changed)."""
    stat = path.stat()
    path.write_text(text)
    os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))


@pytest.fixture
def enforce_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The rules oslo.policy really evaluates."""
    calls: list[str] = []
    enforce = oslo_policy.Enforcer.enforce

    def counting(self: Any, rule: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(rule)
        return enforce(self, rule, *args, **kwargs)

    monkeypatch.setattr(oslo_policy.Enforcer, "enforce", counting)
    return calls


def test_a_decision_is_evaluated_once_per_rule_target_and_caller(
        policy_file: pathlib.Path, enforce_calls: list[str]) -> None:
    policy.authorize(member(), SHOW, OWN)
    policy.authorize(member(), SHOW, OWN)
    assert enforce_calls == [SHOW]

    with pytest.raises(policy.PolicyNotAuthorized):
        policy.authorize(member(), SHOW, {"project_id": "other", "user_id": "bob"})
    with pytest.raises(policy.PolicyNotAuthorized):
        policy.authorize(member(), SHOW, {"project_id": "other", "user_id": "bob"})
    admin = context.RequestContext(user_id="admin", project_id="p", roles=["admin"],
                                   overwrite=False)
    policy.authorize(admin, SHOW, {"project_id": "other", "user_id": "bob"})
    assert enforce_calls == [SHOW, SHOW, SHOW]


def test_a_changed_policy_file_applies_once_due(policy_file: pathlib.Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert policy.can(member(), SHOW, OWN)
    rewrite(policy_file, f'"{SHOW}": "role:admin"\n')
    # Within the interval the rules (and the remembered decision) stand...
    assert policy.can(member(), SHOW, OWN)
    monkeypatch.setattr(policy, "RULES_CHECK_INTERVAL", 0.0)
    # ...after it, the file is read again and every decision made anew.
    assert not policy.can(member(), SHOW, OWN)
    rewrite(policy_file, "{}\n")
    assert policy.can(member(), SHOW, OWN)


def test_sighup_reads_the_policy_file_at_once(policy_file: pathlib.Path) -> None:
    assert policy.can(member(), SHOW, OWN)
    rewrite(policy_file, f'"{SHOW}": "role:admin"\n')
    CONF.mutate_config_files()  # what a service does on SIGHUP
    assert not policy.can(member(), SHOW, OWN)


def test_rules_set_in_code_apply_at_once(policy_file: pathlib.Path) -> None:
    assert policy.can(member(), SHOW, OWN)
    policy.get_enforcer().set_rules(oslo_policy.Rules.from_dict({SHOW: "!"}),
                                    overwrite=False, use_conf=False)
    assert not policy.can(member(), SHOW, OWN)


class _CountingCheck(_checks.Check):
    """A plugin check: its answer may change from one call to the next."""

    calls = 0

    def __call__(self, target: Any, creds: Any, enforcer: Any,
                 current_rule: str | None = None) -> bool:
        type(self).calls += 1
        return True


def test_a_rule_with_a_plugin_check_is_never_remembered(
        policy_file: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_checks.registered_checks, "kumo_counting", _CountingCheck)
    rewrite(policy_file, f'"{SHOW}": "kumo_counting:x"\n')
    _CountingCheck.calls = 0
    for _ in range(3):
        policy.authorize(member(), SHOW, OWN)
    assert _CountingCheck.calls == 3


def test_an_unregistered_rule_still_raises(policy_file: pathlib.Path) -> None:
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        policy.can(member(), "os_compute_api:no-such-rule")


def test_targets_equal_only_as_python_values_get_their_own_decisions(
        policy_file: pathlib.Path) -> None:
    rewrite(policy_file, f'"{SHOW}": "\'1\':%(flag)s"\n')
    policy.reset()
    policy.authorize(member(), SHOW, {**OWN, "flag": 1})
    with pytest.raises(policy.PolicyNotAuthorized):
        policy.authorize(member(), SHOW, {**OWN, "flag": True})  # "True" is not "1"


def test_credentials_are_a_plain_dict_of_the_contexts_policy_values() -> None:
    ctxt = context.RequestContext(user_id="alice", project_id="p", roles=["member", "reader"])
    credentials = policy._credentials(ctxt)
    assert type(credentials) is dict
    assert credentials == dict(ctxt.to_policy_values())
    assert policy._frozen(credentials) == policy._frozen(ctxt.to_policy_values())


def test_an_admin_context_without_the_admin_role_is_treated_as_admin(
        policy_file: pathlib.Path) -> None:
    # is_admin (a service's own context, an elevated one) counts as the admin
    # role, even when the roles it was made with do not say so.
    ctxt = context.RequestContext(user_id="svc", project_id="p", roles=["member"],
                                  is_admin=True, overwrite=False)
    assert "admin" in policy._credentials(ctxt)["roles"]
    policy.authorize(ctxt, "os_compute_api:os-services:list")
    with pytest.raises(Exception, match="doesn't allow"):
        policy.authorize(member(), "os_compute_api:os-services:list")
