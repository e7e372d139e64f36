"""Versions and microversions through every client."""

from __future__ import annotations

from tests.e2e import cloud as e2e
from tests.functional.harness import Cloud


def _advertised(cloud: Cloud) -> dict[str, str]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{cloud.api_port}/", timeout=10) as reply:
        import json

        [v21] = [v for v in json.load(reply)["versions"] if v["id"] == "v2.1"]
    return v21


def test_novaclient_negotiates_the_advertised_maximum(cloud: Cloud) -> None:
    import novaclient
    from novaclient import api_versions

    v21 = _advertised(cloud)
    nova = e2e.novaclient(cloud)
    expected = min(api_versions.APIVersion(v21["version"]),
                   novaclient.API_MAX_VERSION)
    assert nova.api_version == expected
    current = nova.versions.get_current()
    assert (current.id, current.status, current.min_version) == (
        "v2.1", "CURRENT", v21["min_version"])


def test_openstacksdk_reads_the_version_document(cloud: Cloud) -> None:
    conn = e2e.sdk(cloud)
    v21 = _advertised(cloud)
    data = conn.compute.get_endpoint_data()
    assert str(data.max_microversion[0]) == "2"
    assert f"{data.max_microversion[0]}.{data.max_microversion[1]}" == v21["version"]
    assert f"{data.min_microversion[0]}.{data.min_microversion[1]}" == v21["min_version"]


def test_kumo_version_list(cloud: Cloud) -> None:
    v21 = _advertised(cloud)
    [row] = e2e.table_rows(e2e.kumo_cli(cloud, "version-list").stdout)
    assert (row["Id"], row["Status"], row["Min Version"], row["Max Version"]) == (
        "v2.1", "CURRENT", v21["min_version"], v21["version"])
