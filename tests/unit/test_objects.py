"""Versioned objects: a field change needs a version bump; objects survive the RPC trip."""

from __future__ import annotations

import datetime

from oslo_serialization import jsonutils
from oslo_versionedobjects import fixture

from kumo import context, objects, rpc
from kumo.objects import base
from kumo.objects.service import Service

# One line per registered object: "<VERSION>-<fingerprint of its fields and
# remotable methods>". When this test fails because you changed an object,
# bump the object's VERSION (and note the change beside it), teach
# obj_make_compatible about the older version, then update the line here.
EXPECTED_FINGERPRINTS = {
    "ComputeNode": "1.0-65c89d5c2c188366dfd111709eb75889",
    "Flavor": "1.0-8ece8ddbc420eff8ec3f2703b96ee9b4",
    "Image": "1.0-de764f40b5d2ebce3a13667d71049116",
    "Instance": "1.0-6599c556392f0ebc4401b2488a035a79",
    "InstanceFault": "1.0-de5c4ace4c7db0e0609b5b9df0c27dec",
    "Service": "1.0-4a5363aaf1bec061769da2a504aca483",
}


def _kumo_object_classes() -> dict[str, list[type]]:
    objects.register_all()
    return {
        name: classes
        for name, classes in base.KumoObjectRegistry.obj_classes().items()
        if all(cls.OBJ_PROJECT_NAMESPACE == "kumo" for cls in classes)
    }


def test_object_fingerprints_match_their_versions() -> None:
    checker = fixture.ObjectVersionChecker(obj_classes=_kumo_object_classes())
    expected, actual = checker.test_hashes(EXPECTED_FINGERPRINTS)
    assert expected == actual, (
        "Objects changed without a version bump (or the list above is stale): "
        f"expected {expected}, got {actual}"
    )


def test_service_round_trips_through_the_rpc_serializer() -> None:
    ctxt = context.RequestContext(request_id="req-objects", project_id="p1", user_id="u1")
    seen = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    service = Service(
        id=7, uuid="3f4e2c1a-9b8d-4e6f-a1b2-c3d4e5f60718", host="node1",
        binary="kumo-compute", topic="compute", report_count=12, disabled=True,
        disabled_reason="maintenance", forced_down=False, last_seen_up=seen, version=3,
        created_at=seen, updated_at=None,
    )
    serializer = rpc.RequestContextSerializer()

    primitive = serializer.serialize_entity(ctxt, service)
    # What actually crosses the bus is JSON.
    wire = jsonutils.loads(jsonutils.dumps(primitive))
    assert wire["kumo_object.name"] == "Service"
    assert wire["kumo_object.namespace"] == "kumo"
    assert wire["kumo_object.version"] == Service.VERSION

    copy = serializer.deserialize_entity(ctxt, wire)
    assert isinstance(copy, Service)
    assert copy is not service
    for name in Service.fields:
        assert getattr(copy, name) == getattr(service, name), name
    assert copy._context is ctxt


def test_serializer_leaves_plain_values_alone() -> None:
    ctxt = context.RequestContext()
    serializer = rpc.RequestContextSerializer()
    value = {"host": "node1", "ids": [1, 2]}
    assert serializer.deserialize_entity(ctxt, serializer.serialize_entity(ctxt, value)) == value
