"""``python -m tinylut``: the tinylut command line (see tinylut.cli)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
