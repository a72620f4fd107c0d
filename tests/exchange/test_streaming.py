"""Large results are streamed: 20,000 devices pass through while only a batch is alive at a time.

Counts objects instead of timing: the number of output objects alive (pypsrp's, or the fast decoder's) while the stream is
consumed stays bounded (one Receive's worth), whereas `invoke()` would hold all 20,000. The simulated
organization runs in a child process here, so the client's deserialisation and the server's
serialisation do not share one interpreter lock.
"""
from __future__ import annotations

import gc
import multiprocessing
from typing import Any, Iterator

import pytest
from pypsrp.complex_objects import GenericComplexObject

from easconsole.exchange import clixml_decoder
from easconsole.exchange.gateway import PsrpGateway

from .conftest import settings_for

pytestmark = pytest.mark.simulator
DEVICES = 20_000


def serve(devices: int, conn: Any) -> None:
    """Child process: run the simulator until the parent says stop."""
    from easconsole.exchange.simulator.testing import running_simulator

    with running_simulator(devices=devices, seed=3) as sim:
        conn.send({"port": sim.port, "addresses": {name: sim.server_address(name) for name in sim.listeners}})
        conn.recv()


class RemoteSimulator:
    def __init__(self, info: dict[str, Any]) -> None:
        self.port = info["port"]
        self.addresses = info["addresses"]

    def server_address(self, name: str) -> str:
        return self.addresses[name]


@pytest.fixture(scope="module")
def sim() -> Iterator[RemoteSimulator]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(DEVICES, child), daemon=True)
    process.start()
    try:
        assert parent.poll(60), "the simulator did not start"
        yield RemoteSimulator(parent.recv())
        parent.send("stop")
        process.join(30)
    finally:
        if process.is_alive():
            process.kill()


def live_output_objects() -> int:
    """Output objects alive: pypsrp's, or the bulk reads' (received XML texts and decoded enum objects)."""
    kinds = (GenericComplexObject, clixml_decoder.RawOutput, clixml_decoder.Nested)
    # type(), not isinstance(): isinstance asks a lazy object (django.contrib.admin's site) for its __class__, setting it up.
    return sum(1 for obj in gc.get_objects() if issubclass(type(obj), kinds))


def test_twenty_thousand_devices_stream_with_bounded_memory(sim: RemoteSimulator) -> None:
    peak = count = 0
    guids = set()
    with PsrpGateway(settings_for(sim)) as gw:  # type: ignore[arg-type]
        for device in gw.devices():
            count += 1
            guids.add(device.guid)
            if count % 2500 == 0:
                peak = max(peak, live_output_objects())
    assert count == DEVICES and len(guids) == DEVICES
    # Each device carries 3 enum objects: 20,000 devices held at once would be 80,000 objects.
    assert 0 < peak < 4_000, peak
