"""The KIS real-time bond protocol as pure functions, no I/O (docs/kis-protocol.md).

Messages both ways (:mod:`~capture.kis.protocol`), the two TRs' field layouts
(:mod:`~capture.kis.layouts`), AES-256-CBC of ``1|`` frames (:mod:`~capture.kis.aes`), ISIN
check digits (:mod:`~capture.kis.isin`) and the bond master file
(:mod:`~capture.kis.bond_master`). Every parser lists what it raises.
"""

from capture.kis import aes
from capture.kis.bond_master import ISSUER_KINDS, Bond, parse_line, read_bond_master
from capture.kis.isin import check_digit, is_valid_isin, isin_problem
from capture.kis.layouts import LAYOUTS, ORDER_BOOK, TRADES, Field, Kind, Layout
from capture.kis.protocol import (
    RECORD_COUNT,
    REGISTRATIONS_PER_SESSION,
    ControlResponse,
    DataFrame,
    Outcome,
    Pair,
    Ping,
    SubscriptionRequest,
    classify,
    control_response,
    data_frame,
    is_data_frame,
    parse_subscription_request,
    ping_message,
    split_data_frame,
    split_records,
    subscription_request,
)

__all__ = [
    "ISSUER_KINDS",
    "LAYOUTS",
    "ORDER_BOOK",
    "RECORD_COUNT",
    "REGISTRATIONS_PER_SESSION",
    "TRADES",
    "Bond",
    "ControlResponse",
    "DataFrame",
    "Field",
    "Kind",
    "Layout",
    "Outcome",
    "Pair",
    "Ping",
    "SubscriptionRequest",
    "aes",
    "check_digit",
    "classify",
    "control_response",
    "data_frame",
    "is_data_frame",
    "is_valid_isin",
    "isin_problem",
    "parse_line",
    "parse_subscription_request",
    "ping_message",
    "read_bond_master",
    "split_data_frame",
    "split_records",
    "subscription_request",
]
