"""The EVENT and STATE codec round-trips, and reads any bytes as a value or a BadEvent."""

from __future__ import annotations

import json
import typing
from dataclasses import fields

from hypothesis import given
from hypothesis import strategies as st

from capture.errors import BadEvent
from capture.rawlog import events
from capture.rawlog.events import CONN_MAX, NS_MAX

EVENT_TYPES = typing.get_args(events.Event)


def _field_value(name: str, annotation: str) -> st.SearchStrategy[object]:
    """Any value the field may hold: ids are u32, times and counts i64 >= 0, else text."""
    value: st.SearchStrategy[object] = (
        st.integers(0, CONN_MAX if name == "conn" else NS_MAX)
        if annotation.startswith("int")
        else st.text()
    )
    return st.none() | value if annotation.endswith("| None") else value


def _event_of(cls: type[events.Event]) -> st.SearchStrategy[events.Event]:
    return st.builds(cls, **{f.name: _field_value(f.name, str(f.type)) for f in fields(cls)})


any_event = st.one_of(*(_event_of(cls) for cls in EVENT_TYPES))
pairs = st.tuples(st.text(), st.text())
any_state = st.builds(
    events.State,
    conn=st.integers(0, CONN_MAX),
    subscriptions=st.lists(pairs).map(tuple),
    aes=st.dictionaries(st.text(), pairs),
    open_gaps=st.dictionaries(pairs, st.integers(0, NS_MAX)),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    max_leaves=20,
)


@st.composite
def event_like_objects(draw: st.DrawFn) -> bytes:
    """A known event's JSON with any field dropped, or given any JSON value: the shapes a
    reader must check one by one."""
    body = json.loads(events.encode(draw(any_event)))
    for name in [n for n in body if n != "type"]:
        choice = draw(st.sampled_from(("keep", "drop", "replace")))
        if choice == "drop":
            del body[name]
        elif choice == "replace":
            body[name] = draw(json_values)
    return json.dumps(body).encode()


@st.composite
def state_like_objects(draw: st.DrawFn) -> bytes:
    body = json.loads(events.encode_state(draw(any_state)))
    for name in list(body):
        if draw(st.booleans()):
            body[name] = draw(json_values)
    return json.dumps(body).encode()


any_payload = (
    st.binary()
    | json_values.map(lambda value: json.dumps(value).encode())
    | event_like_objects()
    | state_like_objects()
)


@given(any_event)
def test_every_event_reads_back_as_itself(event: events.Event) -> None:
    assert events.read_event(events.encode(event)) == event


@given(any_state)
def test_every_state_reads_back_as_itself(state: events.State) -> None:
    assert events.read_state(events.encode_state(state)) == state


@given(any_payload)
def test_any_bytes_read_as_an_event_or_a_bad_event_and_what_reads_encodes_back(
    payload: bytes,
) -> None:
    try:
        event = events.read_event(payload)
    except BadEvent as exc:
        assert exc.reason
        return
    assert isinstance(event, (*EVENT_TYPES, events.OtherEvent))
    if not isinstance(event, events.OtherEvent):
        assert events.read_event(events.encode(event)) == event


@given(any_payload)
def test_any_bytes_read_as_a_state_or_a_bad_event_and_what_reads_encodes_back(
    payload: bytes,
) -> None:
    try:
        state = events.read_state(payload)
    except BadEvent as exc:
        assert exc.reason
        return
    assert events.read_state(events.encode_state(state)) == state
