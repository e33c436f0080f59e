"""The live wire: the KIS protocol (kis/), the raw log (rawlog/), the recorder (recorder/) and
a loopback exchange (exchange/), over a base every part may use and that imports none of them:
errors, clock, durable (atomic files), filelock, backoff, status_files (status.json and
daemon.json), prometheus (serving /metrics) and versions."""
