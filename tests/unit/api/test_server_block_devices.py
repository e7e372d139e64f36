"""Booting with ``block_device_mapping_v2``, as the openstack CLI sends an image."""

from __future__ import annotations

from typing import Any

from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import PUBLIC_IMAGE, StubConductor, call

API = compute_app.ComputeAPI


def _boot(api: API, **server: Any) -> Any:
    body = {"name": "web", "flavorRef": "1", **server}
    return call(api, "POST", "/servers", {"server": body}, token="alice:project-a")


def _image_mapping(**overrides: Any) -> dict[str, Any]:
    return {"uuid": PUBLIC_IMAGE, "boot_index": 0, "source_type": "image",
            "destination_type": "local", "delete_on_termination": True, **overrides}


def test_an_image_to_local_mapping_boots_that_image(api: API,
                                                     conductor: StubConductor) -> None:
    # What `openstack server create --image X` sends: the image twice, once as a mapping.
    response = _boot(api, imageRef=PUBLIC_IMAGE, networks=[],
                     block_device_mapping_v2=[_image_mapping()])

    assert response.status_int == 202, response.json
    [create] = conductor.called("instance_create")
    assert create["values_list"][0]["image_ref"] == PUBLIC_IMAGE


def test_the_mapping_alone_names_the_image(api: API, conductor: StubConductor) -> None:
    response = _boot(api, block_device_mapping_v2=[_image_mapping(boot_index="0")])

    assert response.status_int == 202, response.json
    [create] = conductor.called("instance_create")
    assert create["values_list"][0]["image_ref"] == PUBLIC_IMAGE


def test_a_volume_mapping_is_refused_with_the_reason(api: API,
                                                     conductor: StubConductor) -> None:
    response = _boot(api, block_device_mapping_v2=[
        _image_mapping(destination_type="volume", volume_size=10)])

    assert response.status_int == 400
    assert "no volume service" in response.json["badRequest"]["message"]
    assert not conductor.called("instance_create")
