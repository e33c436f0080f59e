"""One module per `bondtape` command, each ``add_arguments(parser)`` + ``run(args) -> int``.

Nothing is imported here: `bondtape record` must not load the lake's libraries (design
invariant 3), so each command brings only what it needs.
"""

__all__: list[str] = []
