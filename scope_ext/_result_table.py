"""Result tables: what queries, SQL, grep and event listings return, shown the same everywhere.

A shared leaf: every layer that answers with rows uses it, and it imports none of them.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence
from typing import Any

from ._display import Displayable


class QueryResult(Displayable):
    """Rows with named columns: iterate for records (dicts), display with rich or HTML."""

    def __init__(
        self, query: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], truncated: bool = False
    ) -> None:
        self.query = query
        self.columns = tuple(columns)
        self.rows = list(rows)
        #: True when more rows matched than a result keeps (``code.sql.max_rows``).
        self.truncated = truncated

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            yield dict(zip(self.columns, row, strict=True))

    def __getitem__(self, index: int) -> dict[str, Any]:
        return dict(zip(self.columns, self.rows[index], strict=True))

    def __repr__(self) -> str:
        return f"<QueryResult {self.query!r}: {self._count()}>"

    def _count(self) -> str:
        count = f"{len(self.rows)} row{'' if len(self.rows) == 1 else 's'}"
        return f"the first {count}; the rest were cut" if self.truncated else count

    def _numeric(self) -> list[bool]:
        """Per column: whether every value in it is a number (those align right, text left)."""
        return [
            all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in column)
            and any(v is not None for v in column)
            for column in zip(*self.rows, strict=True)
        ] or [False] * len(self.columns)

    def __rich__(self) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table()  # the title above it, not in it: a title never wraps into the table's width
        for column, numeric in zip(self.columns, self._numeric(), strict=True):
            table.add_column(column, justify="right" if numeric else "left", overflow="fold")
        for row in self.rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        return Group(Text(f"{self.query} ({self._count()})", style="bold"), table)

    def _html(self) -> str:
        align = ["right" if numeric else "left" for numeric in self._numeric()]
        head = "".join(
            f'<th style="text-align:{a}">{html.escape(c)}</th>' for c, a in zip(self.columns, align, strict=True)
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{a}">{html.escape("" if v is None else str(v))}</td>'
                for v, a in zip(row, align, strict=True)
            )
            + "</tr>"
            for row in self.rows
        )
        # mathjax_ignore: JupyterLab would typeset "$X.append($Y)" in a grep caption as math.
        return (
            f'<table class="tex2jax_ignore mathjax_ignore"><caption style="text-align:left">'
            f"{html.escape(self.query)} ({self._count()})</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )

    def to_pandas(self) -> Any:
        """A pandas DataFrame of the rows (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("to_pandas() needs pandas: pip install pandas") from None
        return pandas.DataFrame(self.rows, columns=list(self.columns))
