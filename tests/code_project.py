"""The code layer's test helpers: a small project (packages, an import cycle, classes deriving from
classes, a function nobody calls, a file with a syntax error) with ``ask`` to query it, and
``with_code`` to run a test body beside a code layer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import scope_ext as sx
from scope_ext import QueryResult, start_code_layer

PROJECT = {
    "app/__init__.py": "from .core import run\nfrom . import util\n",
    "app/core.py": (
        "import json\nimport os.path as osp\nfrom app.util import helper as h\nfrom .models import Model\n\n"
        "class Engine(Exception):\n    def start(self, x):\n        if x and x > 1:\n            return self.stop()\n"
        "        return json.dumps(x)\n\n    def stop(self):\n        return osp.join('a', 'b')\n\n\n"
        "def run():\n    h()\n    return Engine().start(1)\n\n\ndef never_called():\n    pass\n"
    ),
    "app/util.py": "from app import core\n\n\ndef helper():\n    return core.run\n",
    "app/models.py": "class Model:\n    pass\n\n\nclass Special(Model):\n    pass\n",
    "app/broken.py": "def oops(:\n",
}


def write_project(root: Path) -> Path:
    """Write the project under ``root``; returns ``root``."""
    for rel, text in PROJECT.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def ask(project: Path, *queries: str) -> list[QueryResult]:
    async def main(rt):
        await sx.start_foundation(rt.production)
        code = await start_code_layer(rt.production, project)
        await (await code.index()).wait()
        await code.resolved()
        return [await code.query(q) for q in queries]

    return sx.run(main)


def with_code(tmp_path: Path, main: Callable[..., Awaitable[Any]], **options: Any) -> Any:
    """Run ``main(runtime, code)`` with a code layer on ``tmp_path`` (``options`` for ``start_code_layer``)."""

    async def wrapper(rt):
        await sx.start_foundation(rt.production)
        code = await start_code_layer(rt.production, tmp_path, **options)
        return await main(rt, code)

    return sx.run(wrapper)
