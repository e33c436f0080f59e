"""The AES key/iv in force per connection and TR, followed through the raw log in write order.

A ``1|`` data frame is decrypted with the key/iv its connection's subscribe ack gave for its
TR; a STATE record (one opens every segment) restates a live connection's table, so a reader
that starts mid-log has them too. Every reader of encrypted frames follows raw this way (the
normalizer, the replay's reader of a recorded day): one tracker, so one rule, pure (it is
given what the reader already parsed and does no I/O).

It keeps only what a record later in raw can still need, so what it holds (and the
normalizer's checkpoint, which saves it) is bounded by the connections open at once, not by
the life of the log. Connection ids are never reused, and a connection's frames all come
before its ``disconnect`` event, so a connection's keys go:

- at its ``disconnect``;
- when another connection of the same credential connects: one session has one connection
  at a time, so the earlier one is over (a recorder killed before it wrote the disconnect);
- when a STATE record restates its table as empty (its session is down).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from capture.kis import ControlResponse, Outcome
from capture.rawlog import events

KeyIv = tuple[str, str]


class KeyTracker:
    """What the records seen so far put in force: key/iv per connection and TR, and the
    credential of each connection whose ``connect`` was seen (to know when it is replaced)."""

    def __init__(
        self,
        keys: Mapping[int, Mapping[str, KeyIv]] | None = None,
        credentials: Mapping[int, str] | None = None,
    ) -> None:
        self._keys = {conn: dict(trs) for conn, trs in (keys or {}).items()}
        self._credentials = dict(credentials or {})

    def of(self, conn: int) -> Mapping[str, KeyIv]:
        """The key/iv per TR of connection ``conn`` (empty if none is in force)."""
        return self._keys.get(conn, {})

    def state(self, state: events.State) -> None:
        """A STATE record: its connection's table, whole."""
        if state.aes:
            self._keys[state.conn] = dict(state.aes)
        else:
            self._keys.pop(state.conn, None)

    def answer(self, conn: int, response: ControlResponse) -> None:
        """A control response received on ``conn``: a subscribe ack may carry a key/iv."""
        if response.outcome is Outcome.SUBSCRIBED and response.key and response.iv:
            self._keys.setdefault(conn, {})[response.tr_id] = (str(response.key), str(response.iv))

    def event(self, event: events.Event | events.OtherEvent) -> None:
        """An EVENT record: a connect replaces its credential's earlier connection, a
        disconnect ends its own."""
        if isinstance(event, events.Disconnect):
            self._forget(event.conn)
        elif isinstance(event, events.Connect):
            replaced = [c for c, name in self._credentials.items() if name == event.credential]
            for conn in replaced:
                self._forget(conn)
            self._credentials[event.conn] = event.credential

    def _forget(self, conn: int) -> None:
        self._keys.pop(conn, None)
        self._credentials.pop(conn, None)

    def to_json(self) -> dict[str, Any]:
        """The tracker as JSON (the normalizer's checkpoint holds it)."""
        return {
            "keys": {
                str(c): {tr: list(kv) for tr, kv in trs.items()} for c, trs in self._keys.items()
            },
            "credentials": {str(c): name for c, name in self._credentials.items()},
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> KeyTracker:
        """The tracker :meth:`to_json` wrote (``credentials`` absent: an older checkpoint).

        Raises:
            KeyError, TypeError, ValueError: not what :meth:`to_json` wrote.
        """
        keys = {
            int(c): {str(tr): (str(kv[0]), str(kv[1])) for tr, kv in trs.items()}
            for c, trs in obj["keys"].items()
        }
        credentials = {int(c): str(name) for c, name in obj.get("credentials", {}).items()}
        return cls(keys, credentials)
