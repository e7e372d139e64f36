"""oslo.policy for servers and server actions: defaults, the server's owner as the
target, and an operator's overrides."""

from __future__ import annotations

import collections
from collections.abc import Callable

import pytest
from oslo_policy import policy as oslo_policy

from kumo import policy
from kumo.api.openstack import app as compute_app
from kumo.policies import list_rules
from tests.unit.api.conftest import StubConductor, call

API = compute_app.ComputeAPI
ADMIN = "admin:admin"

Override = Callable[[dict[str, str]], None]


@pytest.fixture
def override() -> Override:
    """Replace rules as an operator's policy file would."""

    def apply(rules: dict[str, str]) -> None:
        enforcer = policy.get_enforcer()
        enforcer.set_rules(oslo_policy.Rules.from_dict(rules), overwrite=False,
                           use_conf=False)

    return apply


def test_every_rule_name_is_registered_once() -> None:
    counts = collections.Counter(rule.name for rule in list_rules())
    assert [name for name, count in counts.items() if count > 1] == []
    names = set(counts)
    assert {"os_compute_api:servers:index", "os_compute_api:servers:show",
            "os_compute_api:servers:create",
            "os_compute_api:os-lock-server:unlock:unlock_override",
            "os_compute_api:os-migrate-server:migrate_live",
            "os_compute_api:os-instance-actions:events",
            "os_compute_api:server-metadata:update_all"} <= names


def test_a_member_never_sees_another_projects_server(
        api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(project_id="project-a")
    path = f"/servers/{server.uuid}"

    assert call(api, "GET", path, token="bob:project-b").status_int == 404
    assert call(api, "POST", path + "/action", {"os-stop": None},
                token="bob:project-b").status_int == 404
    assert call(api, "GET", path + "/metadata", token="bob:project-b").status_int == 404
    assert call(api, "GET", path, token=ADMIN).status_int == 200


def test_a_denied_show_is_403_with_novas_message(api: API, conductor: StubConductor,
                                                 override: Override) -> None:
    server = conductor.add_instance()
    override({"os_compute_api:servers:show": "role:admin"})

    response = call(api, "GET", f"/servers/{server.uuid}")

    assert response.status_int == 403
    assert response.json["forbidden"]["message"] == (
        "Policy doesn't allow os_compute_api:servers:show to be performed.")


def test_the_target_is_the_servers_owner(api: API, conductor: StubConductor,
                                         override: Override) -> None:
    server = conductor.add_instance(project_id="project-a", user_id="alice")
    override({"os_compute_api:servers:delete": "user_id:%(user_id)s"})

    assert call(api, "DELETE", f"/servers/{server.uuid}", token="carol:project-a"
                ).status_int == 403
    assert call(api, "DELETE", f"/servers/{server.uuid}", token="alice:project-a"
                ).status_int == 204


def test_extended_attributes_follow_their_rule(api: API, conductor: StubConductor,
                                               override: Override) -> None:
    server = conductor.add_instance()
    path = f"/servers/{server.uuid}"

    assert "OS-EXT-SRV-ATTR:host" not in call(api, "GET", path).json["server"]
    assert "OS-EXT-SRV-ATTR:host" in call(api, "GET", path, token=ADMIN).json["server"]
    override({"os_compute_api:os-extended-server-attributes": "role:member"})
    assert call(api, "GET", path).json["server"]["OS-EXT-SRV-ATTR:host"] == "compute-1"


def test_all_tenants_and_admin_filters_follow_their_rules(
        api: API, conductor: StubConductor, override: Override) -> None:
    conductor.add_instance(project_id="project-a", host="compute-1")
    conductor.add_instance(project_id="project-b", host="compute-2")

    denied = call(api, "GET", "/servers?all_tenants=1")
    assert denied.status_int == 403
    assert "os_compute_api:servers:index:get_all_tenants" in denied.json["forbidden"]["message"]
    # host is an admin-only filter: ignored for a member...
    assert len(call(api, "GET", "/servers?host=compute-2").json["servers"]) == 1
    override({"os_compute_api:servers:index:get_all_tenants": "role:member",
              "os_compute_api:servers:allow_all_filters": "role:member"})
    # ... until the operator lets members use every filter.
    assert len(call(api, "GET", "/servers?all_tenants=1").json["servers"]) == 2
    assert call(api, "GET", "/servers?all_tenants=1&host=compute-2").json["servers"][0][
        "name"] == "server-2"


@pytest.mark.parametrize(("action", "rule"), [
    ({"os-stop": None}, "os_compute_api:servers:stop"),
    ({"pause": None}, "os_compute_api:os-pause-server:pause"),
    ({"suspend": None}, "os_compute_api:os-suspend-server:suspend"),
    ({"lock": None}, "os_compute_api:os-lock-server:lock"),
    ({"reboot": {"type": "SOFT"}}, "os_compute_api:servers:reboot"),
    ({"os-getConsoleOutput": {}}, "os_compute_api:os-console-output"),
    ({"resize": {"flavorRef": "2"}}, "os_compute_api:servers:resize"),
    ({"shelve": None}, "os_compute_api:os-shelve:shelve"),
    ({"createImage": {"name": "snap"}}, "os_compute_api:servers:create_image"),
])
def test_each_action_checks_its_rule(api: API, conductor: StubConductor, override: Override,
                                     action: dict[str, object], rule: str) -> None:
    server = conductor.add_instance()
    override({rule: "!"})

    response = call(api, "POST", f"/servers/{server.uuid}/action", action)

    assert response.status_int == 403
    assert response.json["forbidden"]["message"] == (
        f"Policy doesn't allow {rule} to be performed.")


def test_migration_is_for_admins_by_default(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance()

    response = call(api, "POST", f"/servers/{server.uuid}/action", {"migrate": None})

    assert response.status_int == 403
    assert "os-migrate-server:migrate " in response.json["forbidden"]["message"]


def test_an_admins_lock_needs_the_override_rule(api: API, conductor: StubConductor) -> None:
    server = conductor.add_instance(locked=True, locked_by="admin")

    response = call(api, "POST", f"/servers/{server.uuid}/action", {"unlock": None})

    assert response.status_int == 403
    assert "unlock:unlock_override" in response.json["forbidden"]["message"]


def test_metadata_writes_check_their_rule(api: API, conductor: StubConductor,
                                          override: Override) -> None:
    server = conductor.add_instance(metadata={"a": "1"})
    override({"os_compute_api:server-metadata:update_all": "!"})
    path = f"/servers/{server.uuid}/metadata"

    assert call(api, "GET", path).json == {"metadata": {"a": "1"}}
    assert call(api, "PUT", path, {"metadata": {"b": "2"}}).status_int == 403
