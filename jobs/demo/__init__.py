"""`bondtape demo`: the daemon's day on the simulator, shown as it lands, ending in a replay.

The command (demo), its processes (processes: the simulator and the daemon over a session of
seconds), what it shows (display: books, the report, the catalog's answers) and its replay
client (replay_client: a KIS client fed the day again).
"""

__all__: list[str] = []
