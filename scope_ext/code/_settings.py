"""The code layer's settings section (``code.*``), added to a namespace's config when the layer starts."""

from __future__ import annotations

import os

from ..foundation_layer._config import Setting

CODE_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "code.parser.max_workers", int, max(1, os.cpu_count() or 1), "parser worker processes", minimum=1, maximum=256
    ),
    Setting(
        "code.parser.strict",
        bool,
        False,
        "also check every file with CPython's compiler front end, which "
        "catches invalid code tree-sitter accepts (about half again the parse time)",
    ),
    Setting(
        "code.parser.dask",
        str,
        None,
        "address of a Dask scheduler to parse on instead of local processes",
        optional=True,
    ),
    Setting(
        "code.cache.max_mb",
        int,
        64,
        "MB of parsed trees kept for re-parsing changed files incrementally",
        minimum=0,
        maximum=1 << 20,
        runtime=False,
    ),
    Setting(
        "code.sync.debounce_ms",
        int,
        50,
        "ms a burst of file changes is gathered before re-indexing",
        minimum=1,
        maximum=10_000,
    ),
    Setting("code.sync.step_ms", int, 10, "ms between checks for more changes in a burst", minimum=1, maximum=1000),
    Setting(
        "code.sql.timeout",
        float,
        10.0,
        "seconds a query or SQL statement may run before it is stopped",
        minimum=0.01,
        maximum=3600,
    ),
    Setting(
        "code.sql.max_rows",
        int,
        100_000,
        "rows a result keeps; the rest are cut (and it says so)",
        minimum=1,
        maximum=10_000_000,
    ),
    Setting(
        "code.sql.max_bytes",
        int,
        16 << 20,
        "bytes one value of a result may have (SQLite's length limit)",
        minimum=1024,
        maximum=1 << 30,
    ),
)
