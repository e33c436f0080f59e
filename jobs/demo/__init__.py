"""`bondtape demo`: the daemon's day on the simulator, shown as it lands, ending in a replay."""

__all__: list[str] = []
