"""Call-graph benchmark: recall of executed calls, precision on a hand-checked sample, and speed,
against PyCG (ICSE'21) on the same packages in the same run.

The ground truth is not written by hand: each package's own test suite from the standard library
runs under the profiler (:func:`scope_ext.code._trace.executed_calls`), and every call between
two functions of the package that actually happened is an edge. Recall is the share of those
edges a tool finds. Precision is measured on a fixed random sample of each package's resolved
edges: an edge that ran is right; the others were read by hand against the source, with the
verdicts and reasons in ``bench/callgraph_verdicts.txt`` (an edge without a verdict is printed and
the target counts as missed).

Speed is the analysis alone, imports done, each tool in its own fresh process (PyCG's
``CallGraphGenerator`` against scope_ext's read, parse, flow extraction and solve), alternating,
best of :data:`ROUNDS`.
Needs the ``bench`` extra (``pip install -e '.[bench]'``, which brings PyCG).

    python bench/callgraph.py [--quick]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

from _report import Rows, run_bench

#: (package, the test module that exercises it); ``--quick`` takes the first two.
PACKAGES = (
    ("json", "test.test_json"),
    ("argparse", "test.test_argparse"),
    ("email", "test.test_email"),
    ("configparser", "test.test_configparser"),
    ("tomllib", "test.test_tomllib"),
)
ROUNDS = 3
#: Resolved edges sampled per package for precision.
SAMPLE = 30
VERDICTS = Path(__file__).with_name("callgraph_verdicts.txt")

TRACE = """
import json, sys, unittest
from scope_ext.code._trace import executed_calls
suite = unittest.defaultTestLoader.loadTestsFromName(sys.argv[2])
runner = unittest.TextTestRunner(stream=open("/dev/null", "w"), verbosity=0)
edges = executed_calls(lambda: runner.run(suite), sys.argv[1])
print(json.dumps(sorted(edges)))
"""

OURS = """
import json, sys, time
from scope_ext.code._callgraph import Solver, program
started = time.perf_counter()
solver = Solver(program(sys.argv[1], sys.argv[2:]))
solver.solve()
edges = sorted({(caller, target) for _, caller, _, target, _ in solver.edges()})
print(json.dumps({"seconds": time.perf_counter() - started, "edges": edges}))
"""

PYCG = """
import json, sys, time
import PyCG
sys.modules["pycg"] = PyCG  # the wheel's package is PyCG but its modules import pycg
from pycg.pycg import CallGraphGenerator
started = time.perf_counter()
generator = CallGraphGenerator(sys.argv[2:], sys.argv[1], -1, "call-graph")
generator.analyze()
graph = generator.output()
edges = sorted({(caller, callee) for caller, callees in graph.items() for callee in callees})
print(json.dumps({"seconds": time.perf_counter() - started, "edges": edges}))
"""


def _run(script: str, *args: str, cwd: str | None = None) -> object:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=cwd, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def _files(root: str, package: str) -> list[str]:
    top = Path(root, package)
    if top.is_dir():
        return sorted(str(p) for p in top.rglob("*.py"))
    return [str(top) + ".py"]


def _inside(package: str, name: str) -> bool:
    return name == package or name.startswith(package + ".")


def _pycg_name(name: str, package: str, known: set[str]) -> str:
    """PyCG names a package's submodules from its relative imports (``decoder.JSONDecoder``
    for ``json.decoder.JSONDecoder``) and a module's top-level code by the module: the index's
    name when one fits."""
    for candidate in (name, f"{package}.{name}", f"{name}.<module>", f"{package}.{name}.<module>"):
        if candidate in known:
            return candidate
    return name


def _verdicts() -> dict[tuple[str, str], bool]:
    found = {}
    for line in VERDICTS.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            edge, verdict = text.rsplit(None, 1)
            caller, target = (part.strip() for part in edge.split("->"))
            found[(caller, target)] = verdict == "yes"
    return found


def _package(stdlib: str, package: str, test: str, root: str, verdicts: dict[tuple[str, str], bool]) -> Rows:
    source = Path(stdlib, package)
    if source.is_dir():
        shutil.copytree(source, Path(root, package), ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy(str(source) + ".py", root)
    files = _files(root, package)
    truth = {tuple(e) for e in _run(TRACE, stdlib, test) if _inside(package, e[0]) and _inside(package, e[1])}  # type: ignore[union-attr]
    ours_runs, pycg_runs = [], []
    for _ in range(ROUNDS):
        ours_runs.append(_run(OURS, root, *files))
        pycg_runs.append(_run(PYCG, root, *files, cwd=root))
    ours_seconds = min(r["seconds"] for r in ours_runs)  # type: ignore[index]
    pycg_seconds = min(r["seconds"] for r in pycg_runs)  # type: ignore[index]
    ours = {tuple(e) for e in ours_runs[0]["edges"] if _inside(package, e[0]) and _inside(package, e[1])}  # type: ignore[index]
    known = {name for edge in ours | truth for name in edge}
    pycg = {(_pycg_name(a, package, known), _pycg_name(b, package, known)) for a, b in pycg_runs[0]["edges"]}  # type: ignore[index]
    pycg = {e for e in pycg if _inside(package, e[0]) and _inside(package, e[1])}
    recall, pycg_recall = len(truth & ours) / len(truth), len(truth & pycg) / len(truth)
    sample = random.Random(package).sample(sorted(ours), min(SAMPLE, len(ours)))
    right = sum(1 for e in sample if e in truth or verdicts.get(e))  # type: ignore[arg-type]
    unchecked = [e for e in sample if e not in truth and e not in verdicts]
    for caller, target in unchecked:
        print(f"unchecked: {caller} -> {target}", file=sys.stderr)
    precision = right / len(sample)
    speedup = pycg_seconds / ours_seconds
    return [
        (
            f"{package}: recall of {len(truth)} executed calls {recall:.1%} (PyCG {pycg_recall:.1%}): "
            f"{recall / pycg_recall:.2f}x PyCG's (target >= 0.9x)",
            recall >= 0.9 * pycg_recall,
        ),
        (
            f"{package}: precision on {len(sample)} sampled edges {precision:.1%}"
            f"{f' ({len(unchecked)} unchecked)' if unchecked else ''} (target >= 95%)",
            precision >= 0.95 and not unchecked,
        ),
        (
            f"{package}: analysis {ours_seconds * 1000:.0f} ms, PyCG {pycg_seconds * 1000:.0f} ms: "
            f"{speedup:.1f}x faster (target >= 10x); edges {len(ours)} (PyCG {len(pycg)})",
            speedup >= 10,
        ),
    ]


async def bench(quick: bool) -> Rows:
    stdlib = sysconfig.get_paths()["stdlib"]
    verdicts = _verdicts()
    rows: Rows = []
    for package, test in PACKAGES[:2] if quick else PACKAGES:
        with tempfile.TemporaryDirectory() as root:
            rows += _package(stdlib, package, test, root, verdicts)
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    run_bench("callgraph", __doc__.splitlines()[0], bench)
