"""``/os-quota-class-sets``: the default limits (class ``default``) and other classes.

Microversions: 2.50 adds server_groups and server_group_members and drops the
network quotas; 2.57 drops the personality quotas.
"""

from __future__ import annotations

import webob

from kumo import policy
from kumo.api import validation
from kumo.api.openstack import api_version, common
from kumo.api.openstack.compute import quota_sets
from kumo.policies.quota_class_sets import QUOTA_CLASS_SETS

_GROUP_QUOTAS = ("server_groups", "server_group_members")


def _visible(req: webob.Request) -> tuple[str, ...]:
    names = quota_sets.visible(req, network_until="2.50")
    if not api_version.at_least(req, "2.50"):
        names = tuple(name for name in names if name not in _GROUP_QUOTAS)
    return names


class QuotaClassSetsController:
    def __init__(self, clients: common.Clients) -> None:
        self.clients = clients

    def show(self, req: webob.Request, quota_class: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, QUOTA_CLASS_SETS % "show")
        limits = self.clients.conductor.quota_class_get(context, class_name=quota_class)
        shown = {"id": quota_class, **{name: limits[name] for name in _visible(req)}}
        return common.json_response({"quota_class_set": shown})

    def update(self, req: webob.Request, quota_class: str) -> webob.Response:
        context = common.context_of(req)
        policy.authorize(context, QUOTA_CLASS_SETS % "update")
        body = common.json_body(req)
        validation.validate(quota_sets.update_schema("quota_class_set", _visible(req),
                                                     force=False), body)
        limits = self.clients.conductor.quota_class_update(
            context, class_name=quota_class,
            values={name: int(limit) for name, limit in body["quota_class_set"].items()})
        return common.json_response(
            {"quota_class_set": {name: limits[name] for name in _visible(req)}})
