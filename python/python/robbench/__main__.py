"""`python -m robbench` and the `robbench` command: the shell, as the source build's binary.

`robbench-worker`, the other command the wheel installs, runs the package's worker on the
installed torch's libtorch.
"""

import os
import sys

from . import _bundled, _robbench, _worker


def main() -> None:
    sys.exit(_robbench.main(["robbench", *sys.argv[1:]], str(_bundled)))


def worker() -> None:
    os.execv(_worker, [str(_worker), *sys.argv[1:]])


if __name__ == "__main__":
    main()
