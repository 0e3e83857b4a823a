"""Fuzzing ``%scope`` in a real kernel: every line ends as a result or as one ``UsageError`` line
(never a traceback), and the kernel and its runtime survive: ``%scope status`` answers after."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_client import Kernel

from scope_ext.code._settings import CODE_SETTINGS
from scope_ext.foundation_layer._start import FOUNDATION_SETTINGS


def _grammar() -> dict[str, list[tuple[str, bool]]]:
    """Each command's options (with whether they take a value) and choices, read off the real
    parser (so new ones are fuzzed too)."""
    from scope_ext.notebook._magics import ScopeMagics

    found = {}
    for name, command in ScopeMagics(None, None).commands.items():
        actions = command.parser._actions
        found[name] = [(o, a.nargs != 0) for a in actions for o in a.option_strings]
        found[name] += [(c, False) for a in actions for c in a.choices or ()]
    return found


GRAMMAR = _grammar()
#: Every command but ``stop`` (it is the one line that is meant to leave no runtime behind) and
#: ``parse`` (drawn apart: a random path could index the whole disk).
COMMANDS = sorted(set(GRAMMAR) - {"stop", "parse"}) + ["nosuchcommand", ""]
SETTINGS = [".".join(s.path) for s in (*FOUNDATION_SETTINGS, *CODE_SETTINGS)]
NUMBER_WORDS = ["nan", "inf", "-inf", "1e309", "99999999999999999999", "-1", "0", "0.0001", "1e-300", "true", "None"]
WORDS = [
    *NUMBER_WORDS,
    *("--ns", "--limit", "--type", "--since", "--correlation", "--static", "--watch", "-h", "--help", "--"),
    *("production", "scratch", "get", "set", "new", "list", "drop", "events", "config", "health", "code.parser"),
    *("'", '"', "{", "}", "{x}", "{{", "$x", "$$$", "\\", "\\n", "'a b'", '"a  b"', "%scope", "!ls", ";", "|"),
    *("functions where complexity > 1", "callers of json.dumps", "limit 99999999999999999999"),
    *(
        "SELECT 1",
        "SELECT * FROM functions",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT n FROM r",
    ),
    *("ATTACH DATABASE 'x.db' AS y", "PRAGMA writable_schema=1", "'$X.append($Y)'", "$A + $B", "def ("),
]
# Any single-line text: a magic line ends where str.splitlines says a line ends (IPython splits
# cells so), and a cell cannot carry NUL.
TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00"),
    max_size=16,
)
NUMBERS = st.one_of(
    st.integers(-2, 2).map(str), st.integers().map(str), st.floats().map(str), st.sampled_from(NUMBER_WORDS)
)
VALUES = st.one_of(NUMBERS, st.sampled_from(WORDS), TEXT, st.sampled_from(SETTINGS))


@st.composite
def lines(draw: st.DrawFn, command: str) -> str:
    """``command`` and up to six tokens: its own options (each with a value) and choices, or anything."""
    own = GRAMMAR.get(command, [])
    tokens: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        if own and draw(st.integers(0, 5)):  # mostly well-formed: the values are what is hostile
            token, takes_value = draw(st.sampled_from(own))
            tokens.append(token)
            if takes_value and draw(st.integers(0, 5)):
                tokens.append(draw(st.one_of(NUMBERS, VALUES)))
        else:
            tokens.append(draw(VALUES))
    return " ".join([command, *tokens])


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory) -> Path:
    """The kernel's working folder, with a small project in ``project/``."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "project").mkdir()
    (root / "project" / "a.py").write_text("import json\n\ndef f(x):\n    return json.dumps(x)\n")
    return root


@pytest.fixture(scope="module")
def fuzzed_kernel(fuzz_root: Path):
    """One kernel for every fuzzed line, with scope_ext loaded and the project indexed."""
    kernel = Kernel(cwd=str(fuzz_root))
    kernel.ok(f"%load_ext scope_ext\nrun = %scope parse {fuzz_root / 'project'}\nrun.wait(timeout=60)")
    yield kernel
    kernel.close()


def _check(kernel, line: str) -> None:
    out = kernel.execute(f"%scope {line}", timeout=60)
    assert "Traceback" not in out["stderr"], (line, out["stderr"])
    if out["error"] is not None:
        name, message = out["error"]
        assert name == "UsageError" and "\n" not in message.strip(), (line, out["error"])


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_scope_line_is_a_result_or_one_usage_error(fuzzed_kernel, command, data):
    _check(fuzzed_kernel, data.draw(lines(command), label="line"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["project", "missing", "project/a.py", "''", '"a b"', "{x}", "$x", "--watch"]), lines("parse"))
def test_any_parse_line_is_a_result_or_one_usage_error(fuzzed_kernel, fuzz_root, where, line):
    path = str(fuzz_root / where) if where in ("project", "missing", "project/a.py") else where
    # Nothing outside the kernel's folder: no absolute paths (an --index file there would be
    # written) and no --dask (no scheduler to wait for).
    tokens = [t for t in line.split(" ")[1:] if t != "--dask" and not t.startswith(("/", "~", "."))]
    _check(fuzzed_kernel, " ".join(["parse", path, *tokens]))


def test_the_kernel_and_runtime_answer_after_the_fuzzing(fuzzed_kernel):
    assert fuzzed_kernel.km.is_alive()
    out = fuzzed_kernel.ok("%scope start\nstatus = %scope status\nprint(repr(status))")
    assert "running" in out["stdout"], out
