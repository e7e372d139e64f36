"""The Compute API's image proxy over the local image store, through real daemons.

Only kumo-conductor and kumo-api run (the proxy needs nothing else): images
imported with ``kumo-manage image import`` are listed, read, given metadata
and deleted over HTTP, their bytes leaving the store with them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional import harness

OWNER = "alice:project-a"
OTHER = "bob:project-b"


@pytest.fixture(scope="module")
def images_cloud(rabbitmq: harness.RabbitMQ, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[harness.Cloud, dict[str, str]]]:
    root = tmp_path_factory.mktemp("images-cloud")
    cloud = harness.Cloud(root, rabbitmq.add_vhost(f"kumo-{uuid.uuid4().hex[:8]}"))
    cloud.db_sync()
    data = Path(root) / "disk.img"
    data.write_bytes(b"an image\n" * 100)
    for name, extra in (("public", ["--public"]), ("mine", ["--owner", "project-a"]),
                        ("keep", ["--owner", "project-a"])):
        cloud.manage("image", "import", str(data), "--name", name,
                     "--property", "os_distro=tiny", *extra)
    try:
        cloud.start(["kumo-conductor", "kumo-api"])
        status, body = cloud.api("GET", "/images")
        assert status == 200, body
        ids = {image["name"]: image["id"] for image in body["images"]}
        yield cloud, ids
    finally:
        cloud.stop()


def test_list_show_metadata_and_delete_over_the_local_store(images_cloud) -> None:
    cloud, ids = images_cloud
    status, body = cloud.api("GET", "/images/detail", token=OTHER)
    assert status == 200
    assert {image["name"] for image in body["images"]} == {"public"}
    status, body = cloud.api("GET", f"/images/{ids['mine']}", token=OTHER)
    assert status == 404 and "itemNotFound" in body
    status, body = cloud.api("GET", f"/images/{ids['mine']}", token=OWNER)
    assert status == 200 and body["image"]["metadata"] == {"os_distro": "tiny"}

    path = f"/images/{ids['mine']}/metadata"
    status, body = cloud.api("POST", path, {"metadata": {"hw_disk_bus": "sata"}},
                             token=OWNER)
    assert status == 200
    assert body == {"metadata": {"os_distro": "tiny", "hw_disk_bus": "sata"}}
    assert cloud.api("DELETE", f"{path}/os_distro", token=OWNER)[0] == 204
    assert cloud.api("GET", path, token=OWNER) == (200, {"metadata": {"hw_disk_bus": "sata"}})
    assert cloud.api("PUT", f"{path}/x", {"meta": {"x": "1"}}, token=OTHER)[0] == 404
    status, body = cloud.api("PUT", f"/images/{ids['public']}/metadata/x",
                             {"meta": {"x": "1"}}, token=OTHER)
    assert status == 403 and "forbidden" in body
    # The image's hashes survive a PUT of the whole metadata.
    assert cloud.api("PUT", path, {"metadata": {}}, token=OWNER)[0] == 200
    listing = json.loads(cloud.manage("image", "list", "--format", "json"))
    mine = next(image for image in listing if image["id"] == ids["mine"])
    assert mine["checksum"]

    assert cloud.api("DELETE", f"/images/{ids['public']}", token=OTHER)[0] == 403
    store = Path(cloud.state_path) / "images"
    assert (store / ids["mine"]).is_file()
    assert cloud.api("DELETE", f"/images/{ids['mine']}", token=OWNER)[0] == 204
    assert cloud.api("GET", f"/images/{ids['mine']}", token=OWNER)[0] == 404
    assert not (store / ids["mine"]).exists()
    # Retired with the other proxies at 2.36.
    assert cloud.api("GET", f"/images/{ids['keep']}", token=OWNER, version="2.36")[0] == 404
