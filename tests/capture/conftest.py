from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from capture.exchange.simulator import Simulator
from tests.support.kis_checks import simulator_options

StartSim = Callable[..., Simulator]


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    """Start simulators on free loopback ports; ExchangeOptions/FaultOptions keywords go
    where they belong. Every simulator is stopped at teardown."""
    started: list[Simulator] = []

    def start(**kwargs: Any) -> Simulator:
        options = simulator_options(**kwargs)
        sim = Simulator(options)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
