"""The one error tree of bondtape.

Every error the project raises on purpose derives from :class:`BondtapeError`; the CLI turns
them into a one-line message and an exit status, so a traceback always means a bug::

    BondtapeError
    ├── ConfigError            a config key or environment variable is wrong (exit 2)
    ├── ProtocolError          bytes from the wire do not follow docs/kis-protocol.md
    │   ├── BadWebSocketFrame  a websocket frame a server may not send (RFC 6455), or too big
    │   ├── MalformedFrame     a data or control frame that cannot be split or parsed
    │   ├── DecryptError       an encrypted payload that does not decrypt to UTF-8 text
    │   ├── BadRequest         a subscribe request a KIS server refuses (carries msg_cd)
    │   └── BadMasterLine      a line of KIS's bond master file that does not parse
    ├── ApprovalError          the REST approval-key or access-token request failed
    ├── RestError              a REST book request failed (its fetch is retried, then counted)
    ├── RecorderError          the recorder had to stop (a session could not write raw)
    ├── AlreadyRunning         another daemon already owns this data_dir (exit 3)
    ├── RawLogError            the raw log on disk is not what the writer wrote
    │   ├── CorruptRecord      a record whose length or CRC does not check out
    │   ├── BadEvent           an EVENT, STATE or REST_RECV payload not in the shape written
    │   ├── DiskFull           the disk refused a record (ENOSPC/EDQUOT); nothing torn left
    │   └── RecorderLocked     another recorder already owns this data_dir
    └── StorageError           the lake or catalog cannot be written or read
        └── DayNotNormalized   a day asked to be compacted still has raw records not in the lake

Errors carry the data a caller needs (``CorruptRecord.segment``, ``.offset``) and their
message says what to do about them.
"""

from __future__ import annotations


class BondtapeError(Exception):
    """Root of every error bondtape raises on purpose."""

    exit_status = 1


class _Hidden:
    """Stands for a config value that must not be echoed (it may be a pasted secret)."""

    def __repr__(self) -> str:
        return "(hidden)"


HIDDEN = _Hidden()


class ConfigError(BondtapeError):
    """A config value (or the environment variable it names), or a command-line option, is
    missing or invalid.

    The message names the key, the offending value and the fix.
    """

    exit_status = 2

    def __init__(self, key: str, value: object, fix: str) -> None:
        self.key = key
        self.value = value
        self.fix = fix
        shown = "(missing)" if value is None else repr(value)
        where = "" if key.startswith("--") else "config: "  # a flag, or a key of the file
        super().__init__(f"{where}{key} = {shown}: {fix}")


class ProtocolError(BondtapeError):
    """Bytes from the wire that do not follow the KIS protocol."""


class BadWebSocketFrame(ProtocolError):
    """A websocket frame no server may send (RFC 6455), or a message larger than the recorder
    takes; ``close_code`` is the code the connection is closed with: 1002 (protocol error)
    or 1009 (message too big). The recorder reconnects."""

    def __init__(self, close_code: int, reason: str) -> None:
        self.close_code = close_code
        self.reason = reason
        super().__init__(reason)


class MalformedFrame(ProtocolError):
    """A frame that cannot be classified, split or parsed; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DecryptError(ProtocolError):
    """An encrypted payload with bad base64, bad padding or non-UTF-8 plaintext."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class BadRequest(ProtocolError):
    """A subscribe/unsubscribe request that a KIS server answers with an error code."""

    def __init__(self, msg_cd: str, reason: str) -> None:
        self.msg_cd = msg_cd
        self.reason = reason
        super().__init__(f"{msg_cd}: {reason}")


class BadMasterLine(ProtocolError):
    """A line of ``bond_code.mst`` that does not parse; ``line`` is 1-based."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


class ApprovalError(BondtapeError):
    """The approval-key or access-token REST call failed; the message never contains a
    secret."""


class RestError(BondtapeError):
    """A REST book request failed (unreachable, refused, or an answer that is not a book);
    the message names the ISIN and KIS's code, never a secret. ``token_refused``: the server
    said the access token is invalid or expired, so the next try needs a new one."""

    def __init__(self, message: str, *, token_refused: bool = False) -> None:
        self.token_refused = token_refused
        super().__init__(message)


class RecorderError(BondtapeError):
    """The recorder stopped because it could no longer record; the message says why."""


class AlreadyRunning(BondtapeError):
    """Another `bondtape run` holds the daemon's lock on this data_dir: one daemon per
    data_dir, so a second one exits (status 3) and leaves the first alone."""

    exit_status = 3


class RawLogError(BondtapeError):
    """The raw log is not in the shape the writer produces."""


class CorruptRecord(RawLogError):
    """A record whose header, length or CRC does not check out."""

    def __init__(self, segment: str, offset: int, reason: str) -> None:
        self.segment = segment
        self.offset = offset
        self.reason = reason
        super().__init__(f"{segment} at offset {offset}: {reason}")


class BadEvent(RawLogError):
    """An EVENT or STATE payload that :mod:`capture.rawlog.events` cannot read, or a REST_RECV
    payload that :mod:`capture.rawlog.rest` cannot; ``reason``
    says what is wrong with it (readers make it a reject, with its bytes)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DiskFull(RawLogError):
    """The filesystem under the raw log is full: the record was not written (no part of it
    stays on disk). ``since_ns`` is the receive time of the last record written before the
    disk filled, where the recording's gap begins."""

    def __init__(self, segment: str | None, since_ns: int, reason: str) -> None:
        self.segment = segment
        self.since_ns = since_ns
        self.reason = reason
        super().__init__(f"disk full: cannot append to raw segment {segment}: {reason}")


class RecorderLocked(RawLogError):
    """Another recorder holds the lock on this data_dir."""

    exit_status = 3


class StorageError(BondtapeError):
    """The lake, a checkpoint or the catalog cannot be written or read."""


class DayNotNormalized(StorageError):
    """``compact --date D`` found raw records of ``day`` that the lake does not hold yet (a
    recorder wrote them after the last normalize): compacting now would leave them behind as
    live files that no later compaction of a compacted day revisits."""

    def __init__(self, day: object) -> None:
        self.day = day
        super().__init__(
            f"{day} is not normalized to its end: raw holds records of it the lake does not "
            "yet; run `bondtape normalize`, then compact again (`bondtape compact` does both)"
        )
