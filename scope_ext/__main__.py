"""``python -m scope_ext demo [--seconds N]``."""

from __future__ import annotations

import argparse

from ._demo import main


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m scope_ext", description="scope_ext command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run a supervision tree with a crashing child and show it live")
    demo.add_argument("--seconds", type=float, default=10.0, help="how long to run (0: until Ctrl-C)")
    args = parser.parse_args()
    if args.command == "demo":
        main(args.seconds)


if __name__ == "__main__":
    cli()
