"""The code layer (L2): index a Python codebase with supervised parser, repository, analysis, query
and sync services, and ask it questions (queries, SQL, structural grep)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import attach

if TYPE_CHECKING:
    from ._errors import CodeError as CodeError
    from ._grep import PatternError as PatternError
    from ._index_run import IndexRun as IndexRun
    from ._layer import CodeLayer as CodeLayer
    from ._layer import code_layer as code_layer
    from ._layer import find_code_layer as find_code_layer
    from ._query_language import QueryError as QueryError
    from ._settings import CODE_SETTINGS as CODE_SETTINGS
    from ._start import start_code_layer as start_code_layer


__getattr__, __dir__, __all__ = attach(__name__, __file__)
