"""The worker's entry point: ``python scheduler.py`` is the same as ``brandkit worker``.

Arguments are passed through, so ``python scheduler.py --once`` works too.
"""

import sys

from brandkit.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["worker", *sys.argv[1:]]))
