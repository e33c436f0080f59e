from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from capture.exchange import ExchangeOptions
from capture.faults import FaultOptions
from capture.simulator import Simulator, SimulatorOptions

StartSim = Callable[..., Simulator]


@pytest.fixture
def start_sim() -> Iterator[StartSim]:
    """Start simulators on free loopback ports; ExchangeOptions/FaultOptions keywords go
    where they belong. Every simulator is stopped at teardown."""
    started: list[Simulator] = []

    def start(**kwargs: Any) -> Simulator:
        fault_keys = set(FaultOptions.__dataclass_fields__)
        exchange_keys = set(ExchangeOptions.__dataclass_fields__) - {"faults"}
        faults = FaultOptions(**{k: kwargs.pop(k) for k in fault_keys & kwargs.keys()})
        exchange = {k: kwargs.pop(k) for k in exchange_keys & kwargs.keys()}
        options = SimulatorOptions(exchange=ExchangeOptions(faults=faults, **exchange), **kwargs)
        sim = Simulator(options)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
