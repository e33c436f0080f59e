"""A KIS exchange on loopback: approval REST and the websocket protocol, byte for byte.

One server core (:mod:`~capture.exchange.server`) speaks the protocol; what it sends comes
from a feed (:mod:`~capture.exchange.feed`): the synthetic market for `bondtape simulate`
(:mod:`~capture.exchange.synthetic_feed` over :mod:`~capture.exchange.market`), or a captured
day for `bondtape replay` (:mod:`~capture.exchange.recorded_day`, paced by
:mod:`~capture.exchange.replay`). :class:`Simulator` runs the whole exchange in-process.
"""

from capture.exchange.approval_server import load_credentials, parse_credential
from capture.exchange.faults import FaultOptions
from capture.exchange.feed import Feed, FeedFrame, FeedSource
from capture.exchange.loopback import Listen, LoopbackExchange
from capture.exchange.recorded_day import DayWindow, RecordedDay
from capture.exchange.replay import Progress, ReplayFeedSource, ReplayOptions
from capture.exchange.server import Exchange, ExchangeOptions
from capture.exchange.simulator import Simulator, SimulatorOptions
from capture.exchange.truth import TruthLog

__all__ = [
    "DayWindow",
    "Exchange",
    "ExchangeOptions",
    "FaultOptions",
    "Feed",
    "FeedFrame",
    "FeedSource",
    "Listen",
    "LoopbackExchange",
    "Progress",
    "RecordedDay",
    "ReplayFeedSource",
    "ReplayOptions",
    "Simulator",
    "SimulatorOptions",
    "TruthLog",
    "load_credentials",
    "parse_credential",
]
