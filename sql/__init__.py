"""Named queries and view definitions, kept as ``.sql`` files shipped with the package."""

from __future__ import annotations

from importlib.resources import files

__all__ = ["query"]


def query(name: str) -> str:
    """The text of ``sql/NAME.sql``.

    Raises:
        FileNotFoundError: there is no such query.
    """
    return files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")
