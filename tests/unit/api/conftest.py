"""The compute API in-process, over a stub conductor and a stub compute client.

The stubs keep rows in dicts and record every call, so a test can drive the
WSGI app with webob and then look at what the API asked the services to do.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any

import pytest
import webob

from kumo import exception, policy
from kumo.api.openstack import app as compute_app
from kumo.compute import task_states
from kumo.conductor import boot
from kumo.conf import CONF
from kumo.objects.flavor import Flavor
from kumo.objects.image import Image
from kumo.objects.instance import Instance, InstanceFault

BASE_URL = "http://api.example.test:8774"
UNSET = object()
T0 = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

PUBLIC_IMAGE = "11111111-1111-4111-8111-111111111111"
PRIVATE_IMAGE = "22222222-2222-4222-8222-222222222222"
SAVING_IMAGE = "33333333-3333-4333-8333-333333333333"
BIG_IMAGE = "44444444-4444-4444-8444-444444444444"


def make_flavor(flavorid: str, name: str, memory_mb: int, vcpus: int = 1, root_gb: int = 1,
                **kwargs: Any) -> Flavor:
    flavor = Flavor(id=int(flavorid) if flavorid.isdigit() else 100, flavorid=flavorid,
                    name=name, memory_mb=memory_mb, vcpus=vcpus, root_gb=root_gb,
                    ephemeral_gb=kwargs.pop("ephemeral_gb", 0), swap=kwargs.pop("swap", 0),
                    rxtx_factor=1.0, disabled=kwargs.pop("disabled", False),
                    is_public=kwargs.pop("is_public", True), extra_specs={}, **kwargs)
    return flavor


def make_image(image_id: str, name: str, owner: str = "admin", visibility: str = "public",
               status: str = "active", **kwargs: Any) -> Image:
    return Image(id=image_id, name=name, owner=owner, visibility=visibility, status=status,
                 size=kwargs.pop("size", 1024), min_disk=kwargs.pop("min_disk", 0),
                 min_ram=kwargs.pop("min_ram", 0), properties=kwargs.pop("properties", {}),
                 created_at=T0, updated_at=T0, disk_format="raw", container_format="bare",
                 **kwargs)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def view_row(instance: Any) -> dict[str, Any]:
    """An Instance object as the conductor's view calls send it: a JSON row (set fields
    only, the flavor and fault as dicts, datetimes as ISO 8601 strings)."""
    def plain(value: Any) -> Any:
        if hasattr(value, "obj_fields") and hasattr(value, "obj_attr_is_set"):
            return {name: plain(getattr(value, name)) for name in value.obj_fields
                    if value.obj_attr_is_set(name)}
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        return _iso(value)

    return plain(instance)


class StubTags:
    """Server tags (2.26) over a dict, mixed into StubConductor."""

    @property
    def tags(self) -> dict[str, list[str]]:
        return self.__dict__.setdefault("_tags", {})

    def instance_tags_get(self, ctxt: Any, instance_uuid: str) -> list[str]:
        return sorted(self.tags.get(instance_uuid, []))

    def instance_tags_get_by_uuids(self, ctxt: Any,
                                   instance_uuids: list[str]) -> dict[str, list[str]]:
        return {uuid: sorted(self.tags.get(uuid, [])) for uuid in instance_uuids}

    def instance_tag_add(self, ctxt: Any, instance_uuid: str, tag: str) -> bool:
        current = self.tags.setdefault(instance_uuid, [])
        if tag in current:
            return False
        if len(current) >= 50:
            raise exception.TooManyInstanceTags(limit=50)
        current.append(tag)
        return True

    def instance_tags_set(self, ctxt: Any, instance_uuid: str, tags: list[str]) -> list[str]:
        if len(set(tags)) > 50:
            raise exception.TooManyInstanceTags(limit=50)
        self.tags[instance_uuid] = sorted(set(tags))
        return self.tags[instance_uuid]

    def instance_tag_delete(self, ctxt: Any, instance_uuid: str, tag: str) -> None:
        if tag not in self.tags.get(instance_uuid, []):
            raise exception.InstanceTagNotFound(instance_id=instance_uuid, tag=tag)
        self.tags[instance_uuid].remove(tag)

    def instance_tags_delete_all(self, ctxt: Any, instance_uuid: str) -> None:
        self.tags.pop(instance_uuid, None)

    def instance_group_get_all(self, ctxt: Any, project_id: str | None = None,
                               limit: int | None = None, offset: int | None = None
                               ) -> list[dict[str, Any]]:
        """No server groups (2.71's server_groups is empty); tests replace it."""
        return []

    def service_get_all(self, ctxt: Any, binary: str | None = None,
                        host: str | None = None) -> list[Any]:
        """No services (2.16's host_status is UNKNOWN); tests replace it to have some."""
        return []


class StubConductor(StubTags):
    """The conductor's RPC API of docs/compute-flow.md, over dicts."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.flavors = {f.flavorid: f for f in (
            make_flavor("1", "m1.tiny", 512),
            make_flavor("2", "m1.small", 2048, root_gb=20),
            make_flavor("3", "m1.medium", 4096, vcpus=2, root_gb=40, swap=512),
            make_flavor("7", "private", 1024, is_public=False),
            make_flavor("8", "off", 1024, disabled=True),
        )}
        self.flavor_access = {"7": {"project-a"}}
        self.images = {i.id: i for i in (
            make_image(PUBLIC_IMAGE, "cirros", properties={"os_distro": "cirros"}),
            make_image(PRIVATE_IMAGE, "secret", owner="project-a", visibility="private"),
            make_image(SAVING_IMAGE, "half", status="saving"),
            make_image(BIG_IMAGE, "big", min_ram=2048, min_disk=30, size=2 * 1024 ** 3),
        )}
        self.instances: dict[str, Instance] = {}
        self._next_id = 1

    def _record(self, method: str, **kwargs: Any) -> None:
        self.calls.append((method, kwargs))

    def called(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]

    # availability zones (the ones a boot may ask for)

    def availability_zone_get_all(self, ctxt: Any, with_internal: bool = False
                                  ) -> list[dict[str, Any]]:
        self._record("availability_zone_get_all", with_internal=with_internal)
        return [{"zone": zone, "available": True, "hosts": {}} for zone in ("az1", "nova")]

    # flavors and images

    def _flavor_visible(self, flavor: Flavor, project_id: str | None) -> bool:
        return (project_id is None or flavor.is_public
                or project_id in self.flavor_access.get(flavor.flavorid, set()))

    def flavor_get_all(self, ctxt: Any, is_public: bool | None = None,
                       min_memory_mb: int | None = None, min_disk: int | None = None,
                       project_id: str | None = None) -> list[Flavor]:
        self._record("flavor_get_all", is_public=is_public, min_memory_mb=min_memory_mb,
                     min_disk=min_disk, project_id=project_id)
        return [f for _, f in sorted(self.flavors.items())
                if (is_public is None or f.is_public == is_public)
                and self._flavor_visible(f, project_id)
                and f.memory_mb >= (min_memory_mb or 0) and f.root_gb >= (min_disk or 0)]

    def flavor_get_by_flavor_id(self, ctxt: Any, flavor_id: str,
                                project_id: str | None = None) -> Flavor:
        self._record("flavor_get_by_flavor_id", flavor_id=flavor_id, project_id=project_id)
        flavor = self.flavors.get(flavor_id)
        if flavor is None or not self._flavor_visible(flavor, project_id):
            raise exception.FlavorNotFound(flavor_id=flavor_id)
        return flavor

    def _image_visible(self, image: Image, project_id: str | None) -> bool:
        return project_id is None or image.visibility == "public" or image.owner == project_id

    def image_get(self, ctxt: Any, image_id: str, project_id: str | None = None) -> Image:
        self._record("image_get", image_id=image_id, project_id=project_id)
        image = self.images.get(image_id)
        if image is None or not self._image_visible(image, project_id):
            raise exception.ImageNotFound(image_id=image_id)
        return image

    def image_get_all(self, ctxt: Any, project_id: str | None = None,
                      filters: dict[str, Any] | None = None) -> list[Image]:
        self._record("image_get_all", project_id=project_id, filters=filters)
        return [i for _, i in sorted(self.images.items()) if self._image_visible(i, project_id)]

    # instances

    def instance_create(self, ctxt: Any, values_list: list[dict[str, Any]]) -> list[Instance]:
        self._record("instance_create", values_list=values_list)
        created = []
        for values in values_list:
            values = dict(values)
            flavor = Flavor(**values.pop("flavor"))
            values.pop("flavor_id", None)
            instance = Instance(id=self._next_id, flavor=flavor, created_at=T0, updated_at=T0,
                                fault=None, deleted=False, locked=False, **values)
            self._next_id += 1
            instance.obj_reset_changes()
            self.instances[instance.uuid] = instance
            created.append(instance)
        return created

    def add_instance(self, **values: Any) -> Instance:
        """A server straight into the store (what the conductor's DB would hold)."""
        index = self._next_id
        defaults: dict[str, Any] = {
            "uuid": f"00000000-0000-4000-8000-{index:012d}", "project_id": "project-a",
            "user_id": "alice", "display_name": f"server-{index}", "vm_state": "active",
            "task_state": None, "power_state": 1, "host": "compute-1", "node": "node-1",
            "availability_zone": "nova", "memory_mb": 512, "vcpus": 1, "root_gb": 1,
            "image_ref": PUBLIC_IMAGE, "flavor": self.flavors["1"], "metadata": {},
            "key_name": None, "config_drive": "", "launched_at": T0, "terminated_at": None,
            "progress": 0, "locked": False, "fault": None, "reservation_id": "r-abcdefgh",
            "created_at": T0 + datetime.timedelta(minutes=index), "updated_at": T0,
            "deleted": False,
        }
        defaults.update(values)
        instance = Instance(id=index, **defaults)
        self._next_id += 1
        self.instances[instance.uuid] = instance
        return instance

    # The 1.9 view calls (kumo.conductor.server_views): the same reads (recorded as
    # instance_get / instance_get_all), answered as the conductor's plain rows.

    def _view_extras(self, ctxt: Any, instances: list[Instance],
                     extras: list[str] | None) -> dict[str, Any]:
        uuids = [instance.uuid for instance in instances]
        found: dict[str, Any] = {}
        if "tags" in (extras or []):
            found["tags"] = self.instance_tags_get_by_uuids(ctxt, instance_uuids=uuids)
        if "network_info" in (extras or []):
            found["network_info"] = self.instance_info_cache_get(  # type: ignore[attr-defined]
                ctxt, instance_uuids=uuids)
        if "services" in (extras or []):
            hosts = {instance.get("host", None) for instance in instances} - {None, ""}
            found["services"] = [
                {name: _iso(service.get(name, None)) for name in
                 ("host", "disabled", "forced_down", "last_seen_up", "created_at")}
                for service in self.service_get_all(ctxt, binary="kumo-compute")
                if service["host"] in hosts] if hosts else []
        return found

    def instance_get_for_view(self, ctxt: Any, instance_uuid: str,
                              project_id: str | None = None,
                              extras: list[str] | None = None) -> dict[str, Any]:
        instance = self.instance_get(ctxt, instance_uuid=instance_uuid, project_id=project_id)
        return {"instance": view_row(instance), **self._view_extras(ctxt, [instance], extras)}

    def instance_get_all_for_view(self, ctxt: Any, filters: dict[str, Any] | None = None,
                                  sort_keys: list[str] | None = None,
                                  sort_dirs: list[str] | None = None,
                                  limit: int | None = None, marker: str | None = None,
                                  extras: list[str] | None = None) -> dict[str, Any]:
        instances = self.instance_get_all(ctxt, filters=filters, sort_keys=sort_keys,
                                          sort_dirs=sort_dirs, limit=limit, marker=marker)
        return {"instances": [view_row(instance) for instance in instances],
                **self._view_extras(ctxt, instances, extras)}

    def instance_get(self, ctxt: Any, instance_uuid: str,
                     project_id: str | None = None) -> Instance:
        self._record("instance_get", instance_uuid=instance_uuid, project_id=project_id)
        instance = self.instances.get(instance_uuid)
        if (instance is None or instance.deleted
                or (project_id is not None and instance.project_id != project_id)):
            raise exception.InstanceNotFound(instance_id=instance_uuid)
        return instance

    def instance_get_all(self, ctxt: Any, filters: dict[str, Any] | None = None,
                         sort_keys: list[str] | None = None,
                         sort_dirs: list[str] | None = None, limit: int | None = None,
                         marker: str | None = None) -> list[Instance]:
        self._record("instance_get_all", filters=filters, sort_keys=sort_keys,
                     sort_dirs=sort_dirs, limit=limit, marker=marker)
        filters = filters or {}
        found = []
        for instance in self.instances.values():
            if "deleted" in filters and instance.deleted != filters["deleted"]:
                continue
            if "project_id" in filters and instance.project_id != filters["project_id"]:
                continue
            if "vm_state" in filters and instance.vm_state not in filters["vm_state"]:
                continue
            if "task_state" in filters and instance.task_state not in filters["task_state"]:
                continue
            if "name" in filters and not re.search(filters["name"], instance.display_name):
                continue
            if any(key in filters and getattr(instance, key) != filters[key]
                   for key in ("reservation_id", "host", "image_ref")):
                continue
            if "flavor_id" in filters and instance.flavor.flavorid != filters["flavor_id"]:
                continue
            found.append(instance)
        key = (sort_keys or ["created_at"])[0]
        found.sort(key=lambda i: getattr(i, key),
                   reverse=(sort_dirs or ["desc"])[0] == "desc")
        if marker is not None:
            uuids = [i.uuid for i in found]
            if marker not in uuids:
                raise exception.MarkerNotFound(marker=marker)
            found = found[uuids.index(marker) + 1:]
        return found[:limit] if limit else found

    def instance_update(self, ctxt: Any, instance_uuid: str, values: dict[str, Any],
                        expected_task_state: Any = UNSET,
                        expected_vm_state: Any = UNSET) -> Instance:
        self._record("instance_update", instance_uuid=instance_uuid, values=values,
                     expected_task_state=expected_task_state)
        instance = self.instances[instance_uuid]
        if expected_task_state is not UNSET:
            expected = (expected_task_state if isinstance(expected_task_state, list)
                        else [expected_task_state])
            if instance.task_state not in expected:
                error = (exception.UnexpectedDeletingTaskStateError
                         if instance.task_state == task_states.DELETING
                         else exception.UnexpectedTaskStateError)
                raise error(instance_uuid=instance_uuid, expected=expected,
                            actual=instance.task_state)
        for name, value in values.items():
            setattr(instance, name, value)
        return instance

    # boot and delete in fewer round trips (1.9): recorded as the calls they stand for

    def boot_sources(self, ctxt: Any, flavor_id: str, image_id: str,
                     project_id: str | None = None) -> dict[str, Any]:
        return {"flavor": self.flavor_get_by_flavor_id(ctxt, flavor_id, project_id=project_id),
                "image": self.image_get(ctxt, image_id, project_id=project_id)}

    def instance_update_starting_action(self, ctxt: Any, instance_uuid: str,
                                        values: dict[str, Any], action: str,
                                        **guard: Any) -> Instance:
        instance = self.instance_update(ctxt, instance_uuid, values, **guard)
        self._record("instance_action_started", instance_uuid=instance_uuid, action=action)
        return instance

    def instance_start_delete(self, ctxt: Any, instance_uuid: str, project_id: str | None,
                              owner: dict[str, Any], allow_locked: bool, action: str,
                              expected_task_state: Any) -> dict[str, Any]:
        # 1.11: recorded, then as the read and the guarded update it stands for.
        self._record("instance_start_delete", instance_uuid=instance_uuid, owner=owner,
                     allow_locked=allow_locked)
        instance = self.instance_get(ctxt, instance_uuid, project_id=project_id)
        mine = (instance.project_id == owner["project_id"]
                and instance.user_id == owner["user_id"])
        if not mine or (getattr(instance, "locked", False) and not allow_locked):
            return {"instance": instance, "started": False}
        instance = self.instance_update_starting_action(
            ctxt, instance_uuid, {"task_state": task_states.DELETING}, action,
            expected_task_state=expected_task_state)
        return {"instance": instance, "started": True}

    def instance_destroy(self, ctxt: Any, instance_uuid: str) -> Instance:
        self._record("instance_destroy", instance_uuid=instance_uuid)
        instance = self.instances[instance_uuid]
        instance.deleted = True
        instance.vm_state = "deleted"
        instance.task_state = None
        return instance

    # keypairs and quotas (1.5): no key pairs, the default quotas never reached

    key_pairs: dict[tuple[str, str], dict[str, Any]] = {}

    def instance_create_within_quota(self, ctxt: Any, values_list: list[dict[str, Any]],
                                     min_count: int) -> list[Instance]:
        return self.instance_create(ctxt, values_list)

    def key_pair_get(self, ctxt: Any, user_id: str, name: str) -> dict[str, Any]:
        self._record("key_pair_get", user_id=user_id, name=name)
        if (user_id, name) not in self.key_pairs:
            raise exception.KeypairNotFound(user_id=user_id, name=name)
        return self.key_pairs[(user_id, name)]

    def quota_check_resize(self, ctxt: Any, instance_uuid: str, vcpus: int,
                           memory_mb: int) -> None:
        self._record("quota_check_resize", instance_uuid=instance_uuid, vcpus=vcpus,
                     memory_mb=memory_mb)

    def quota_check_metadata(self, ctxt: Any, project_id: str, count: int) -> None:
        if count > 128:
            raise exception.MetadataLimitExceeded(allowed=128)

    def instance_create_and_build(self, ctxt: Any, values_list: list[dict[str, Any]],
                                  min_count: int, request_spec: dict[str, Any]) -> list[str]:
        """Conductor 1.10's create + build in one call, recorded as the two it stands for."""
        return boot.create_then_build(self, ctxt, values_list, min_count, request_spec)

    def build_instances(self, ctxt: Any, instance_uuids: list[str],
                        request_spec: dict[str, Any]) -> None:
        self._record("build_instances", instance_uuids=instance_uuids,
                     request_spec=request_spec, context=ctxt)


class StubCompute:
    def __init__(self) -> None:
        self.terminated: list[tuple[str, str]] = []

    def terminate_instance(self, ctxt: Any, instance: Instance, host: str) -> None:
        self.terminated.append((instance.uuid, host))


@pytest.fixture(autouse=True)
def policy_defaults() -> Iterator[None]:
    """The policy defaults in code, no operator policy file (oslo.policy reads the
    parsed configuration, so it is parsed here with no files)."""
    CONF([], project="kumo", default_config_files=[], default_config_dirs=[])
    policy.reset()
    yield
    policy.reset()


@pytest.fixture
def conductor() -> StubConductor:
    return StubConductor()


@pytest.fixture
def compute() -> StubCompute:
    return StubCompute()


@pytest.fixture
def api(conductor: StubConductor, compute: StubCompute) -> Iterator[compute_app.ComputeAPI]:
    CONF.set_override("max_limit", 1000, group="api")
    yield compute_app.app_factory(conductor=conductor, compute=compute,
                                  auth_strategy="noauth2")
    CONF.clear_override("max_limit", group="api")


def call(app: Any, method: str, path: str, body: Any = None,
         token: str | None = "alice:project-a", **headers: str) -> webob.Response:
    """One request to ``app`` at ``/v2.1<path>`` as ``token`` (None: no token)."""
    request = webob.Request.blank("/v2.1" + path, base_url=BASE_URL, method=method,
                                  headers=headers)
    if token is not None:
        request.headers["X-Auth-Token"] = token
    if body is not None:
        request.json_body = body
        request.content_type = "application/json"
    return request.get_response(app)


def fault(instance_uuid: str, code: int = 500, details: str | None = "Traceback: boom",
          message: str = "No valid host was found. ") -> InstanceFault:
    return InstanceFault(id=1, instance_uuid=instance_uuid, code=code, message=message,
                         details=details, host=None, created_at=T0)


class NoBuild:
    """The real conductor manager, with build_instances (which needs a scheduler) only
    recorded as ``(instance_uuids, request_spec)``."""

    def __init__(self, manager: Any) -> None:
        self.manager = manager
        self.built: list[tuple[list[str], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.manager, name)

    def instance_create_and_build(self, ctxt: Any, values_list: list[dict[str, Any]],
                                  min_count: int, request_spec: dict[str, Any]) -> list[str]:
        # The manager's own would call its build_instances, not this double's.
        return boot.create_then_build(self, ctxt, values_list, min_count, request_spec)

    def build_instances(self, ctxt: Any, instance_uuids: list[str],
                        request_spec: dict[str, Any]) -> None:
        self.built.append((instance_uuids, request_spec))


@pytest.fixture
def conductor_cloud(conductor_db: None) -> tuple[compute_app.ComputeAPI, NoBuild, str]:
    """The API over the real conductor manager and the test database (no bus), with
    flavor "2" (m1.small) and a public image: ``(api, conductor, image_id)``."""
    from kumo.conductor import manager
    from kumo.context import get_admin_context

    conductor = NoBuild(manager.ConductorManager(host="conductor-host"))
    ctxt = get_admin_context()
    conductor.flavor_create(ctxt, values={"name": "m1.small", "flavorid": "2",
                                          "memory_mb": 2048, "vcpus": 1, "root_gb": 20})
    image = conductor.image_create(ctxt, values={
        "name": "tiny", "status": "active", "visibility": "public", "owner": "admin",
        "size": 1024, "disk_format": "raw", "container_format": "bare"})
    api = compute_app.app_factory(conductor=conductor, compute=StubCompute(),
                                  auth_strategy="noauth2")
    return api, conductor, image.id
