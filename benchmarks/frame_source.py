"""A bench source that is not the bottleneck: pre-encoded KIS frames, as fast as the socket
takes them.

    python -m benchmarks.frame_source [--pool 1024]

It speaks just enough KIS for the recorder: the approval REST endpoint (the exchange's own),
and on the websocket an ``OPSP0000`` ack for each subscription. Once a client has subscribed,
it streams a pool of distinct H0BJASP0 frames in a cycle, forever: the frames are serialized as
websocket frames once, and a whole cycle goes to the transport in one write, so a frame costs
the source a few nanoseconds instead of a ``send`` call. Frame ``k`` of a connection is always
``pool[k % len(pool)]``: a reader checks loss and order by comparing bytes. Record ``i`` of the
pool carries ``i`` as its total ask quantity, so frames differ.

Prints ``ws: URL`` and ``rest: URL`` like ``bondtape simulate``; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from capture.clock import SystemClock
from capture.exchange.approval_server import ApprovalRegistry, ApprovalServer
from capture.exchange.market import Market
from capture.kis.isin import check_digit
from capture.kis.layouts import ORDER_BOOK
from capture.kis.protocol import control_response, data_frame, parse_subscription_request

HIGH_WATER = 8 << 20  # bytes queued in the transport before the source waits for the socket
ISIN = "KR103502GD31"


def pool_frames(size: int) -> list[bytes]:
    """``size`` distinct H0BJASP0 frames (text payloads), in stream order."""
    market, total_ask = Market(seed=5), ORDER_BOOK.columns.index("total_ask_qty")
    frames = []
    for i in range(size):
        isin = _isin(i % 10)
        record = market.next_record(ORDER_BOOK.tr_id, isin, "100000")
        record[total_ask] = str(i)
        frames.append(data_frame(ORDER_BOOK.tr_id, [record]).encode())
    return frames


def _isin(n: int) -> str:
    body = f"KR1035{n:05d}"
    return body + check_digit(body)


async def _serve(pool: list[bytes], host: str) -> None:
    cycle = b"".join(Frame(Opcode.TEXT, f).serialize(mask=False, extensions=[]) for f in pool)

    connections: set[ServerConnection] = set()

    async def handle(ws: ServerConnection) -> None:
        streaming: asyncio.Task[None] | None = None
        connections.add(ws)
        try:
            async for message in ws:
                request = parse_subscription_request(message)
                ack = control_response(request.tr_id, request.tr_key, "OPSP0000",
                                       key="k" * 32, iv="i" * 16)  # fmt: skip
                await ws.send(ack)
                if streaming is None:
                    streaming = asyncio.create_task(_stream(ws, cycle))
        except ConnectionClosed:
            pass
        finally:
            connections.discard(ws)
            if streaming is not None:
                streaming.cancel()

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with serve(handle, host, 0, compression=None, ping_interval=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"ws: ws://{host}:{port}", flush=True)
        await stop.wait()
        for ws in connections:  # a client still reading would hold the close up forever
            ws.transport.abort()


async def _stream(ws: ServerConnection, cycle: bytes) -> None:
    """The cycle, again and again, straight to the transport, paced only by the socket."""
    await asyncio.sleep(0.2)  # let the client's other subscriptions be acked first
    transport = ws.transport
    while not transport.is_closing():
        transport.write(cycle)
        while transport.get_write_buffer_size() > HIGH_WATER and not transport.is_closing():
            await asyncio.sleep(0.001)
        await asyncio.sleep(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1024, help="distinct frames in the cycle")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    clock = SystemClock()
    rest = ApprovalServer(args.host, 0, ApprovalRegistry(clock), None, clock)
    rest.start()
    print(f"rest: {rest.url}", flush=True)
    try:
        asyncio.run(_serve(pool_frames(args.pool), args.host))
    finally:
        rest.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
