"""The recorder daemon: one websocket session per app key, every frame into the raw log.

:class:`Recorder` owns a data_dir and runs a :class:`~capture.recorder.session.Session` per
credential; around them, the approval-key client, the subscription table, sharding of
registrations over keys, what a previous run left open and secret redaction (backoff, serving
Prometheus and ``status.json`` are the capture base's). It never parses a quote (design.md,
invariant 3).
"""

from capture.recorder.approval import AppCredential, request_approval_key
from capture.recorder.options import RecorderOptions
from capture.recorder.recorder import Recorder
from capture.recorder.redact import RedactingFilter, Redactor
from capture.recorder.sharding import shard, subscription_pairs
from capture.status_files import STATUS_NAME, is_live, read_status

__all__ = [
    "STATUS_NAME",
    "AppCredential",
    "Recorder",
    "RecorderOptions",
    "RedactingFilter",
    "Redactor",
    "is_live",
    "read_status",
    "request_approval_key",
    "shard",
    "subscription_pairs",
]
