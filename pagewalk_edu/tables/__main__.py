import argparse
import sys

from .cli import add_parser, run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="pagewalk-edu")
    sub = parser.add_subparsers(dest="command")
    add_parser(sub)
    args = parser.parse_args(["tables", *(sys.argv[1:] if argv is None else argv)])
    try:
        return run(args)
    except (ValueError, TypeError) as err:
        print(f"pagewalk-edu: error: {err}", file=sys.stderr)
        return 2


sys.exit(main())
