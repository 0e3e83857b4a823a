"""How light ``import scope_ext`` is: fresh interpreters, alternating with ``import trio``, best of N.

Figures against ``import trio`` in the same run: ``import scope_ext`` itself and the imports a
script makes when it only wants a supervisor (``scope_ext.Supervisor``, which loads the runtime and
trio), each with the target at most 1.5x; and, for information, with the Foundation too
(``scope_ext.start_foundation``). It also checks that ``import scope_ext`` and the runtime load
none of the heavy modules (IPython, tree_sitter, anywidget, ipywidgets, rich, sqlite3, pandas).

    python3 bench/import_time.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

HEAVY = ("IPython", "tree_sitter", "anywidget", "ipywidgets", "rich", "sqlite3", "pandas")
PROBE = """
import sys, time
t = time.perf_counter()
{code}
elapsed = time.perf_counter() - t
heavy = sorted(name for name in {heavy!r} if name in sys.modules)
print(elapsed, ",".join(heavy))
"""
SUBJECTS = {
    "import scope_ext": "import scope_ext",
    "scope_ext.Supervisor (runtime)": "import scope_ext; scope_ext.Supervisor",
    "scope_ext.start_foundation": "import scope_ext; scope_ext.start_foundation",
}
#: Subjects with a time target (the rest are shown for information).
TIMED = ("import scope_ext", "scope_ext.Supervisor (runtime)")
ANCHOR = "import trio"


def measure(code: str) -> tuple[float, str]:
    """Seconds the import took in a fresh interpreter, and the heavy modules it left loaded."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), out[1] if len(out) > 1 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    rounds = 3 if parser.parse_args().quick else 7
    started = time.perf_counter()
    best = {name: float("inf") for name in (ANCHOR, *SUBJECTS)}
    heavy: dict[str, str] = {}
    measure(ANCHOR)  # warm the file cache once
    for _ in range(rounds):  # alternating, so a busy moment hits both sides
        for name in (ANCHOR, *SUBJECTS):
            seconds, loaded = measure(SUBJECTS.get(name, ANCHOR))
            best[name] = min(best[name], seconds)
            heavy[name] = loaded
    anchor = best[ANCHOR]
    rows = []
    for name in SUBJECTS:
        ratio = best[name] / anchor
        text = f"{name}: {best[name] * 1000:.1f} ms against import trio {anchor * 1000:.1f} ms = {ratio:.2f}x"
        if name in TIMED:
            rows.append((f"{text} (target <= 1.5x)", ratio <= 1.5))
        else:
            print(f"INFO  {text}")
        rows.append((f"{name} loads no heavy module ({heavy[name] or 'none loaded'})", not heavy[name]))
    for text, ok in rows:
        print(f"{'PASS' if ok else 'MISS'}  {text}")
    print(
        f"import bench{' (quick)' if rounds == 3 else ''}: {sum(ok for _, ok in rows)}/{len(rows)} targets met "
        f"in {time.perf_counter() - started:.1f} s (best of {rounds} fresh interpreters each)"
    )


if __name__ == "__main__":
    main()
