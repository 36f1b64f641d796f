"""`python -m pagewalk_edu.tables FILE [--json] [--real] [--config ...]`: the
`pagewalk-edu tables` command on its own."""

import argparse
import sys

from .cli import add_parser, run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pagewalk-edu")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["tables", *(sys.argv[1:] if argv is None else argv)])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
