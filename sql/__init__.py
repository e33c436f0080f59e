"""Named queries and view definitions, kept as ``.sql`` files shipped with the package.

``queries/NAME.sql`` are the named queries (`bondtape query NAME`), each with a header that
storage/read/queries.py reads; ``views/NAME.sql`` are what the catalog adds to the views of the
four tables (which storage/read/catalog_sql.py generates from the committed manifest): the
bonds view, the book-as-of macro and the macros the named queries share; ``NAME.sql`` at the
top are queries the demo runs over lake files.
"""

from __future__ import annotations

from importlib.resources import files

__all__ = ["named_queries", "query"]


def query(name: str) -> str:
    """The text of ``sql/NAME.sql``.

    Raises:
        FileNotFoundError: there is no such query.
    """
    return files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def named_queries() -> dict[str, str]:
    """The text of every ``sql/queries/NAME.sql``, by NAME, in name order."""
    folder = files(__name__).joinpath("queries")
    return {
        entry.name.removesuffix(".sql"): entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".sql")
    }
