"""e2e fixtures: one devstack-like cloud for the whole session.

Like the functional tests, without root or rabbitmq-server the suite is
skipped, unless ``KUMO_REQUIRE_RABBITMQ=1`` (as in CI) makes that a failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e import cloud as e2e
from tests.functional import harness
from tests.functional.conftest import rabbitmq  # noqa: F401  (the session's broker)


@pytest.fixture(scope="session")
def e2e_cloud(rabbitmq: harness.RabbitMQ,  # noqa: F811
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Cloud]:
    """Every kumo daemon, fake driver with several nodes, flavors and an image."""
    root = tmp_path_factory.mktemp("e2e-cloud")
    cloud = harness.Cloud(root, rabbitmq.add_vhost(f"kumo-e2e-{uuid.uuid4().hex[:8]}"),
                          overrides=e2e.CLOUD_OPTIONS)

    with cloud.running(e2e.setup_like_devstack):
        harness.wait_for(lambda: _nodes_ready(cloud), 60,
                         message=f"{e2e.NODES} fake nodes reported")
        yield cloud


def _nodes_ready(cloud: harness.Cloud) -> bool:
    """Every fake node has its row, and os-hypervisors lists it."""
    rows = cloud.query("SELECT id FROM compute_nodes WHERE deleted = 0")
    if len(rows) < e2e.NODES:
        return False
    status, body = cloud.api("GET", "/os-hypervisors")
    return status == 200 and len(body["hypervisors"]) >= e2e.NODES  # type: ignore[index]


@pytest.fixture
def cloud(e2e_cloud: harness.Cloud) -> Iterator[harness.Cloud]:
    """The session's cloud; a daemon that died during a test fails it."""
    e2e_cloud.check_alive()
    yield e2e_cloud
    e2e_cloud.check_alive()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """On a failure, attach the tails of the daemons' logs."""
    report = yield
    if report.failed:
        found = getattr(item, "funcargs", {}).get("e2e_cloud")
        if isinstance(found, harness.Cloud) and found.daemons:
            report.sections.append((f"kumo daemon logs ({report.when})", found.log_tails()))
    return report
