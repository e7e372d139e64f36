"""Functional-test fixtures: a private RabbitMQ node per session, clouds of real daemons.

Without root or without rabbitmq-server the tests that need a broker are
skipped, unless ``KUMO_REQUIRE_RABBITMQ=1`` (as in CI), which makes that a
failure. ``KUMO_FUNCTIONAL_KEEP=1`` keeps the broker's data directory.
"""

from __future__ import annotations

import atexit
import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functional import harness


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "") == "1"


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[harness.RabbitMQ]:
    """A private RabbitMQ node on loopback, started once, removed at the end.

    Tests may :meth:`~harness.RabbitMQ.stop` and :meth:`~harness.RabbitMQ.start`
    it; they must leave it running.
    """
    reason = harness.rabbitmq_unavailable_reason()
    if reason is not None:
        if _env_flag("KUMO_REQUIRE_RABBITMQ"):
            pytest.fail(f"KUMO_REQUIRE_RABBITMQ=1, but {reason}", pytrace=False)
        pytest.skip(reason)
    node = harness.RabbitMQ()
    # Should the session end before fixture teardown, no beam.smp stays behind;
    # a SIGTERM (a cancelled CI job) becomes an interrupt, which runs teardown.
    atexit.register(node.destroy)
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        node.start()
        yield node
    finally:
        node.destroy(keep_dir=_env_flag("KUMO_FUNCTIONAL_KEEP"))
        atexit.unregister(node.destroy)
        signal.signal(signal.SIGTERM, previous_handler)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


@pytest.fixture(scope="module")
def module_cloud(rabbitmq: harness.RabbitMQ, tmp_path_factory: pytest.TempPathFactory,
                 request: pytest.FixtureRequest) -> Iterator[harness.Cloud]:
    """All eleven daemons of one cloud, shared by the tests of a module.

    The cloud has a vhost, a database file and a host name of its own. A
    module may set ``CLOUD_OPTIONS`` (config sections to override),
    ``CLOUD_SETUP`` (a function run on the cloud after ``db sync``, before
    the daemons start) and ``CLOUD_BINARIES`` (the daemons it needs, when not
    all of them: each one started costs seconds of CPU).
    """
    root = tmp_path_factory.mktemp("cloud")
    vhost = f"kumo-{uuid.uuid4().hex[:8]}"
    cloud = harness.Cloud(root, rabbitmq.add_vhost(vhost),
                          overrides=getattr(request.module, "CLOUD_OPTIONS", None))
    with cloud.running(getattr(request.module, "CLOUD_SETUP", None),
                       getattr(request.module, "CLOUD_BINARIES", harness.BINARIES)):
        yield cloud


@pytest.fixture
def cloud(module_cloud: harness.Cloud) -> Iterator[harness.Cloud]:
    """The module's cloud with every daemon running and heartbeating.

    Daemons an earlier test stopped on purpose are started again first; one
    that exited on its own (before or during the test) fails the test.
    """
    module_cloud.ensure_running()
    yield module_cloud
    module_cloud.check_alive()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """On a failure, attach the tails of the daemons' and the broker's logs."""
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        cloud = funcargs.get("module_cloud")
        if isinstance(cloud, harness.Cloud) and cloud.daemons:
            report.sections.append((f"kumo daemon logs ({report.when})", cloud.log_tails()))
        node = funcargs.get("rabbitmq")
        if isinstance(node, harness.RabbitMQ):
            report.sections.append((f"RabbitMQ logs ({report.when})", node.log_tail()))
    return report
