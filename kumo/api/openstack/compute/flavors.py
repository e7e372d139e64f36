"""``/flavors``: the server sizes a project may boot, and their management by admins.

Microversions: 2.55 adds ``description`` (shown, settable at create, changed
with PUT); 2.61 shows ``extra_specs`` in detailed bodies to whoever may list
them; 2.75 shows a flavor without swap as ``0`` (not ``""``) and refuses
unknown query parameters; 2.102 drops ``rxtx_factor`` (refused at create, no
longer shown).
"""

from __future__ import annotations

import copy
from typing import Any

import webob
from oslo_utils import strutils

from kumo import exception, policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import views
from kumo.policies import flavors as flavor_policies

MAX_INT = 2 ** 31 - 1
_NON_NEGATIVE = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0,
                 "minLength": 1}
_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535}
_CREATE: dict[str, Any] = {
    "type": "object",
    "properties": {
        "flavor": {
            "type": "object",
            "properties": {
                "name": validation.NAME,
                # Nova's rule: letters, digits, '.', '_', '-' and inner spaces.
                "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                       "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
                "ram": validation.POSITIVE_INTEGER,
                "vcpus": validation.POSITIVE_INTEGER,
                "disk": _NON_NEGATIVE,
                "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE,
                "swap": _NON_NEGATIVE,
                "rxtx_factor": {"type": ["number", "string"],
                                "pattern": r"^[0-9]+(\.[0-9]+)?$", "minimum": 0,
                                "exclusiveMinimum": True, "maximum": 3.40282e38},
                "os-flavor-access:is_public": validation.BOOLEAN,
            },
            "required": ["name", "ram", "vcpus", "disk"],
            "additionalProperties": False,
        },
    },
    "required": ["flavor"],
    "additionalProperties": False,
}
_UPDATE = {
    "type": "object",
    "properties": {
        "flavor": {"type": "object", "properties": {"description": _DESCRIPTION},
                   "required": ["description"], "additionalProperties": False},
    },
    "required": ["flavor"],
    "additionalProperties": False,
}
# The flavor fields a list may be sorted by (Nova's).
SORT_KEYS = ("created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id",
             "is_public", "memory_mb", "name", "root_gb", "rxtx_factor", "swap",
             "updated_at", "vcpu_weight", "vcpus")
_QUERY_PARAMS = frozenset({"limit", "marker", "is_public", "minRam", "minDisk", "sort_key",
                           "sort_dir"})


def _create_schema(req: webob.Request) -> dict[str, Any]:
    if not api_version.at_least(req, "2.55"):
        return _CREATE
    schema = copy.deepcopy(_CREATE)
    fields = schema["properties"]["flavor"]["properties"]
    fields["description"] = _DESCRIPTION
    if api_version.at_least(req, "2.102"):
        del fields["rxtx_factor"]  # gone with nova-network's bandwidth caps
    return schema


# --- views -----------------------------------------------------------------------------


def _get(flavor: Any, name: str, default: Any = None) -> Any:
    if hasattr(flavor, "obj_attr_is_set") and not flavor.obj_attr_is_set(name):
        return default
    return getattr(flavor, name, default)


def may_see_extra_specs(req: webob.Request) -> bool:
    """Whether detailed flavor bodies (2.61) carry extra specs for this caller."""
    try:
        policy.authorize(common.context_of(req), flavor_policies.EXTRA_SPECS % "index")
    except policy.PolicyNotAuthorized:
        return False
    return True


def show_basic(req: webob.Request, flavor: Any) -> dict[str, Any]:
    """``GET /flavors``: id, name, links (and the description from 2.55)."""
    shown = views.flavor_basic(req, flavor)
    if api_version.at_least(req, "2.55"):
        shown["description"] = _get(flavor, "description")
    return shown


def show_detail(req: webob.Request, flavor: Any, extra_specs: bool | None = None
                ) -> dict[str, Any]:
    """A detailed flavor body at the request's microversion; ``extra_specs`` says
    whether the caller may see them (checked when None)."""
    shown = views.flavor_detail(req, flavor)
    if api_version.at_least(req, "2.55"):
        shown["description"] = _get(flavor, "description")
    if api_version.at_least(req, "2.61"):
        if extra_specs is None:
            extra_specs = may_see_extra_specs(req)
        if extra_specs:
            shown["extra_specs"] = dict(_get(flavor, "extra_specs") or {})
    if api_version.at_least(req, "2.75"):
        shown["swap"] = _get(flavor, "swap", 0) or 0
    if api_version.at_least(req, "2.102"):
        shown.pop("rxtx_factor", None)
    return shown


# --- query parameters ------------------------------------------------------------------


def _is_public_filter(raw: str | None) -> bool | None:
    """Nova's ``is_public`` rule: admins choose (default public only, ``none`` for all)."""
    if raw is None:
        return True
    if raw.lower() == "none":
        return None
    try:
        return strutils.bool_from_string(raw, strict=True)
    except ValueError:
        raise common.BadRequest(reason=f"Invalid is_public filter [{raw}]") from None


def _int_filter(req: webob.Request, name: str) -> int | None:
    raw = req.params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise common.BadRequest(reason=f"Invalid {name} filter [{raw}]") from None


def _check_query(req: webob.Request) -> tuple[str, str]:
    """The sort key and direction; 400 for a bad one, or (2.75) an unknown parameter."""
    if api_version.at_least(req, "2.75"):
        unknown = sorted(set(req.params) - _QUERY_PARAMS)
        if unknown:
            raise common.BadRequest(reason=(
                "Additional properties are not allowed ("
                + ", ".join(repr(name) for name in unknown)
                + (" were" if len(unknown) > 1 else " was") + " unexpected)"))
    sort_key = req.params.get("sort_key") or "flavorid"
    sort_dir = req.params.get("sort_dir") or "asc"
    if sort_key not in SORT_KEYS:
        raise common.BadRequest(reason=(
            f"Invalid input for query parameters sort_key. Value: {sort_key}. "
            f"'{sort_key}' is not one of {list(SORT_KEYS)}"))
    if sort_dir not in ("asc", "desc"):
        raise common.BadRequest(reason=(
            f"Invalid input for query parameters sort_dir. Value: {sort_dir}. "
            f"'{sort_dir}' is not one of ['asc', 'desc']"))
    return sort_key, sort_dir


def _sorted(flavors: list[Any], key: str, direction: str) -> list[Any]:
    # None first ascending, as the database sorts; the internal id breaks ties.
    def sort_key(flavor: Any) -> tuple[Any, ...]:
        value = _get(flavor, key)
        return (value is not None, value if value is not None else 0, _get(flavor, "id", 0))
    return sorted(flavors, key=sort_key, reverse=direction == "desc")


def _as_int(body: dict[str, Any], name: str, minimum: int) -> int:
    value = int(body.get(name) or 0)
    if not minimum <= value <= MAX_INT:
        raise common.BadRequest(reason=(
            f"Invalid input received: {name} must be >= {minimum} and <= {MAX_INT}"))
    return value


class FlavorsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    # --- reads -----------------------------------------------------------------------

    def index(self, req: webob.Request) -> webob.Response:
        return self._list(req, detail=False)

    def detail(self, req: webob.Request) -> webob.Response:
        return self._list(req, detail=True)

    def _list(self, req: webob.Request, detail: bool) -> webob.Response:
        context = common.context_of(req)
        sort_key, sort_dir = _check_query(req)
        limit, marker = common.limit_and_marker(req)
        min_memory_mb = _int_filter(req, "minRam")
        min_disk = _int_filter(req, "minDisk")
        if context.is_admin:
            is_public = _is_public_filter(req.params.get("is_public"))
            project_id = None
        else:
            # Public flavors and the private ones shared with the caller's project.
            is_public = None
            project_id = context.project_id
        flavors = self.clients.conductor.flavor_get_all(
            context, is_public=is_public, min_memory_mb=min_memory_mb, min_disk=min_disk,
            project_id=project_id)
        if not context.is_admin:
            flavors = [f for f in flavors if not _get(f, "disabled", False)]
        if (sort_key, sort_dir) != ("flavorid", "asc"):
            flavors = _sorted(flavors, sort_key, sort_dir)
        flavors = common.page(flavors, limit, marker, "flavorid")
        if detail:
            extra_specs = may_see_extra_specs(req)
            shown = [show_detail(req, f, extra_specs) for f in flavors]
        else:
            shown = [show_basic(req, f) for f in flavors]
        collection = "flavors/detail" if detail else "flavors"
        return common.list_response(req, "flavors", shown, collection, limit)

    def show(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        flavor = self.clients.conductor.flavor_get_by_flavor_id(
            context, flavor_id=flavor_id, project_id=common.project_scope(context))
        return common.json_response({"flavor": show_detail(req, flavor)})

    # --- management (os-flavor-manage) -----------------------------------------------

    def create(self, req: webob.Request) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.MANAGE % "create")
        body = common.json_body(req)
        validation.validate(_create_schema(req), body)
        given = body["flavor"]
        values: dict[str, Any] = {
            "name": given["name"],
            "flavorid": given.get("id"),
            "memory_mb": _as_int(given, "ram", 1),
            "vcpus": _as_int(given, "vcpus", 1),
            "root_gb": _as_int(given, "disk", 0),
            "ephemeral_gb": _as_int(given, "OS-FLV-EXT-DATA:ephemeral", 0),
            "swap": _as_int(given, "swap", 0),
            "rxtx_factor": float(given.get("rxtx_factor", 1.0)),
            "is_public": strutils.bool_from_string(
                given.get("os-flavor-access:is_public", True), strict=True),
        }
        if "description" in given:
            values["description"] = given["description"]
        flavor = self.clients.conductor.flavor_create(context, values=values)
        return common.json_response({"flavor": show_detail(req, flavor)})

    def update(self, req: webob.Request, flavor_id: str) -> webob.Response:
        if not api_version.at_least(req, "2.55"):
            # Not served before 2.55: as if there were no such resource.
            raise exception.NotFound()
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.MANAGE % "update")
        body = common.json_body(req)
        validation.validate(_UPDATE, body)
        flavor = self.clients.conductor.flavor_update(
            context, flavor_id=flavor_id,
            values={"description": body["flavor"]["description"]})
        return common.json_response({"flavor": show_detail(req, flavor)})

    def delete(self, req: webob.Request, flavor_id: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, flavor_policies.MANAGE % "delete")
        self.clients.conductor.flavor_destroy(context, flavor_id=flavor_id)
        return common.empty_response(202)
