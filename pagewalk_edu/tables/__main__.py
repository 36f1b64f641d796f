"""`python -m pagewalk_edu.tables FILE [--json] [--real] [--config ...]`: the
`pagewalk-edu tables` command on its own."""

import sys

from ..cli import main as pagewalk_main


def main(argv=None) -> int:
    return pagewalk_main(["tables", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
