"""The JupyterLab extension (labextension/): its TypeScript unit tests, and its packaging: an sdist
and a wheel built from it carry the prebuilt extension, so installing them needs no Node, and
``jupyter labextension list`` then shows it enabled."""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).parent.parent
LABEXTENSION = ROOT / "labextension"


def test_typescript_unit_tests_pass(tmp_path: Path):
    assert (LABEXTENSION / "node_modules").is_dir(), "bash .ci/install installs the npm packages"
    report = tmp_path / "vitest.json"
    done = subprocess.run(
        ["npx", "vitest", "run", "--reporter=json", f"--outputFile={report}"],
        cwd=LABEXTENSION,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads(report.read_text())
    failed = [t["fullName"] for f in results["testResults"] for t in f["assertionResults"] if t["status"] != "passed"]
    assert done.returncode == 0 and failed == [], (failed, done.stdout[-2000:], done.stderr[-2000:])
    assert results["numPendingTests"] == 0 and results["numTodoTests"] == 0  # nothing skipped
    assert results["numPassedTests"] >= 19


def without_node() -> dict[str, str]:
    """The environment with every folder that holds node or npm taken off PATH."""
    folders = [
        f
        for f in os.environ["PATH"].split(os.pathsep)
        if not any((Path(f) / tool).exists() for tool in ("node", "npm", "npx"))
    ]
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), *folders])}
    assert shutil.which("node", path=env["PATH"]) is None and shutil.which("npm", path=env["PATH"]) is None
    return env


def test_the_packages_carry_the_prebuilt_extension_and_install_without_node(tmp_path: Path):
    assert (ROOT / "scope_ext" / "labextension" / "package.json").exists(), "pip install -e . builds the extension"
    env = without_node()
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "sdist", "-d", str(dist)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (sdist,) = dist.glob("scope_ext-*.tar.gz")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(sdist)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )  # the sdist builds, no Node
    (wheel,) = dist.glob("scope_ext-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    # jupyterlab comes from the interpreter running the tests, a venv or not (a child venv's
    # system_site_packages would reach the base interpreter's instead): its site-packages go after
    # the child's own, so the child imports scope_ext from the wheel.
    child_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(child_site, "tests_parent_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel)],
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    installed = target / "share" / "jupyter" / "labextensions" / "scope-ext"
    assert (installed / "package.json").exists() and (installed / "install.json").exists()
    assert list((installed / "static").glob("remoteEntry.*.js"))

    listing = subprocess.run(
        [str(python), "-m", "jupyterlab.labextensions", "list"],  # `jupyter labextension list`
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", listing.stdout + listing.stderr)
    assert re.search(
        rf"{re.escape(str(installed.parent))}\n\s+scope-ext v0\.1\.0 enabled\s+OK \(python, scope_ext\)", text
    ), text
