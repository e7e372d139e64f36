"""Fixtures of the scheduler's unit tests: a fake conductor, a host manager over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kumo.conf import CONF
from kumo.scheduler.filter_scheduler import FilterScheduler
from kumo.scheduler.host_manager import HostManager
from tests.unit.scheduler.fakes import FakeConductor, make_node


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flags() -> Iterator[Callable[..., None]]:
    """Override ``[scheduler]`` options for one test."""
    names: list[str] = []

    def set_flags(**values: Any) -> None:
        for name, value in values.items():
            CONF.set_override(name, value, group="scheduler")
            names.append(name)

    yield set_flags
    for name in names:
        CONF.clear_override(name, group="scheduler")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def conductor() -> FakeConductor:
    return FakeConductor([make_node(f"host{i}") for i in range(4)])


@pytest.fixture
def host_manager(conductor: FakeConductor, clock: Clock) -> HostManager:
    return HostManager(conductor=conductor, clock=clock)


@pytest.fixture
def scheduler(host_manager: HostManager) -> FilterScheduler:
    return FilterScheduler(host_manager)
