"""``python -m scope_ext demo [--seconds N]`` and ``python -m scope_ext lab [FOLDER]``."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from .notebook._demo import main


def lab(folder: str | None, extra: list[str]) -> int:
    """JupyterLab on ``folder`` (default: ``./examples`` when there is one, else here)."""
    if folder is None:
        folder = "examples" if os.path.isdir("examples") else "."
    if not os.path.isdir(folder):
        print(f"python -m scope_ext lab: {folder!r} is not a folder", file=sys.stderr)
        return 2
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={os.path.abspath(folder)}", *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    if os.name == "posix":  # become JupyterLab: signals (Ctrl-C, a terminate) reach it and it stops its kernels
        os.execv(sys.executable, command)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def cli(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["lab"] and not {"-h", "--help"} & set(argv[1:2]):  # the rest goes to JupyterLab as is
        rest = argv[1:]
        folder = rest[0] if rest and not rest[0].startswith("-") else None
        raise SystemExit(lab(folder, rest[1:] if folder is not None else rest))
    parser = argparse.ArgumentParser(prog="python -m scope_ext", description="scope_ext command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a supervision tree with a crashing child and show it live")
    demo.add_argument("--seconds", type=float, default=10.0, help="how long to run (0: until Ctrl-C)")
    sub.add_parser(
        "lab",
        help="open JupyterLab: lab [FOLDER] [JupyterLab options]; FOLDER defaults to "
        "./examples when there is one, else .",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        main(args.seconds)


if __name__ == "__main__":
    cli()
