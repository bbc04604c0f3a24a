"""The ``lrstats`` command line.

Each sub-command lives in its own module of this package and exposes
``add_parser(subparsers)`` and ``run(args) -> int``. Modules are imported when the
parser is built, so they must import cheaply: TensorFlow and the heavy libraries are
imported inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lrstats._version import __version__

# Sub-command modules, in the order `lrstats --help` lists them.
COMMANDS = ("demo", "sample", "range_test", "report", "sweep")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrstats",
        description="Choose a learning rate by statistical inference on one-step loss changes.",
    )
    parser.add_argument("--version", action="version", version=f"lrstats {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"lrstats.cli.{name}")
        except ModuleNotFoundError as error:  # a command not written yet
            if error.name != f"lrstats.cli.{name}":
                raise
            continue
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    return int(args._run(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
