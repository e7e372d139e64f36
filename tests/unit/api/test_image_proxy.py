"""``/images`` DELETE and ``/images/{id}/metadata`` over the real conductor and database.

The image proxy's reads are in test_images.py; here the changes: who may make
them (owner or admin, 403 otherwise, 404 for an image the caller cannot
see), the 409 of an image still being written, the metadata quota, and the
2.36 retirement of both resources.
"""

from __future__ import annotations

from typing import Any

import pytest

from kumo import context as kumo_context
from kumo.api.openstack import app as compute_app
from tests.unit.api.conftest import NoBuild, call

API = compute_app.ComputeAPI
OWNER = "alice:project-a"
OTHER = "bob:project-b"
ADMIN = "admin:project-a"


@pytest.fixture
def cloud(conductor_cloud: tuple[API, NoBuild, str]) -> tuple[API, NoBuild, dict[str, str]]:
    """The API, the conductor and images by role: mine (private, of project-a),
    public (admin's), protected (mine), snapshot (mine, queued)."""
    api, conductor, public = conductor_cloud
    ctxt = kumo_context.get_admin_context()

    def image(**values: Any) -> str:
        values = {"status": "active", "visibility": "private", "owner": "project-a",
                  "disk_format": "qcow2", "container_format": "bare", "size": 10, **values}
        return conductor.image_create(ctxt, values=values).id

    ids = {"public": public,
           "mine": image(name="mine", properties={"os_distro": "cirros",
                                                  "os_hash_algo": "sha256",
                                                  "os_hash_value": "ab" * 32}),
           "protected": image(name="keep", protected=True),
           "snapshot": image(name="snap", status="queued",
                             properties={"instance_uuid": "s1", "image_type": "snapshot"})}
    return api, conductor, ids


def test_owner_deletes_an_image(cloud) -> None:
    api, conductor, ids = cloud
    assert call(api, "DELETE", f"/images/{ids['mine']}", token=OWNER).status_int == 204
    response = call(api, "GET", f"/images/{ids['mine']}", token=OWNER)
    assert response.status_int == 404 and "itemNotFound" in response.json
    assert call(api, "DELETE", f"/images/{ids['mine']}", token=OWNER).status_int == 404


def test_delete_refusals(cloud) -> None:
    api, _conductor, ids = cloud
    # Another project's private image does not exist for bob.
    response = call(api, "DELETE", f"/images/{ids['mine']}", token=OTHER)
    assert response.status_int == 404 and "itemNotFound" in response.json
    # A public image bob sees but does not own.
    response = call(api, "DELETE", f"/images/{ids['public']}", token=OTHER)
    assert response.status_int == 403 and "forbidden" in response.json
    assert call(api, "DELETE", f"/images/{ids['protected']}", token=OWNER).status_int == 403
    response = call(api, "DELETE", f"/images/{ids['snapshot']}", token=OWNER)
    assert response.status_int == 409 and "conflictingRequest" in response.json
    # An admin may delete anyone's unprotected image.
    assert call(api, "DELETE", f"/images/{ids['public']}", token=ADMIN).status_int == 204


def test_metadata_reads(cloud) -> None:
    api, _conductor, ids = cloud
    path = f"/images/{ids['mine']}/metadata"
    # The service's hashes are not metadata.
    assert call(api, "GET", path).json == {"metadata": {"os_distro": "cirros"}}
    assert call(api, "GET", f"/images/{ids['mine']}").json["image"]["metadata"] == {
        "os_distro": "cirros"}
    assert call(api, "GET", f"{path}/os_distro").json == {"meta": {"os_distro": "cirros"}}
    assert call(api, "GET", f"{path}/nope").status_int == 404
    assert call(api, "GET", f"{path}/os_hash_value").status_int == 404
    assert call(api, "GET", path, token=OTHER).status_int == 404
    assert call(api, "GET", f"/images/{ids['public']}/metadata", token=OTHER).json == {
        "metadata": {}}


def test_metadata_changes_keep_the_hashes(cloud) -> None:
    api, conductor, ids = cloud
    path = f"/images/{ids['mine']}/metadata"
    assert call(api, "POST", path, {"metadata": {"a": "1"}}).json == {
        "metadata": {"os_distro": "cirros", "a": "1"}}
    assert call(api, "PUT", f"{path}/b", {"meta": {"b": "2"}}).json == {"meta": {"b": "2"}}
    assert call(api, "PUT", path, {"metadata": {"c": "3"}}).json == {"metadata": {"c": "3"}}
    assert call(api, "GET", path).json == {"metadata": {"c": "3"}}
    assert call(api, "DELETE", f"{path}/c").status_int == 204
    assert call(api, "DELETE", f"{path}/c").status_int == 404
    assert call(api, "GET", path).json == {"metadata": {}}
    stored = conductor.image_get(kumo_context.get_admin_context(), ids["mine"])
    assert stored.properties == {"os_hash_algo": "sha256", "os_hash_value": "ab" * 32}


def test_metadata_refusals(cloud) -> None:
    api, _conductor, ids = cloud
    path = f"/images/{ids['mine']}/metadata"
    assert call(api, "PUT", f"{path}/b", {"meta": {"x": "2"}}).status_int == 400
    assert call(api, "POST", path, {"metadata": {"": "x"}}).status_int == 400
    assert call(api, "POST", path, {"meta": {"a": "1"}}).status_int == 400
    response = call(api, "PUT", path, {"metadata": {"os_hash_value": "0"}})
    assert response.status_int == 403
    public = f"/images/{ids['public']}/metadata"
    assert call(api, "POST", public, {"metadata": {"a": "1"}}, token=OTHER).status_int == 403
    assert call(api, "POST", path, {"metadata": {"a": "1"}}, token=OTHER).status_int == 404
    assert call(api, "POST", public, {"metadata": {"a": "1"}}, token=ADMIN).status_int == 200
    # The project's metadata_items quota (128 by default): 403 as Nova.
    many = {f"k{i}": "v" for i in range(129)}
    response = call(api, "PUT", path, {"metadata": many})
    assert response.status_int == 403
    assert response.json["forbidden"]["message"] == "Image metadata limit exceeded"


def test_retired_at_2_36(cloud) -> None:
    api, _conductor, ids = cloud
    new = {"OpenStack-API-Version": "compute 2.36"}
    old = {"OpenStack-API-Version": "compute 2.35"}
    for path in (f"/images/{ids['mine']}", f"/images/{ids['mine']}/metadata",
                 f"/images/{ids['mine']}/metadata/os_distro"):
        assert call(api, "GET", path, **old).status_int == 200
        assert call(api, "GET", path, **new).status_int == 404
    assert call(api, "DELETE", f"/images/{ids['mine']}", **new).status_int == 404
