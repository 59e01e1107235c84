"""``responses-fast`` command line (minimal: the ``serve`` subcommand)."""

from __future__ import annotations

import argparse
import sys

from .serve import add_serve_parser

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="responses-fast",
                                     description="Fast LLM agent loops over the Responses API.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_parser(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
