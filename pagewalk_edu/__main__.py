import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command starts: the same quiet exit 130 as during it
    sys.exit(130)

sys.exit(main())
