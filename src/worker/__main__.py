"""``python -m src.worker CONTROL_FD``: run the template process (see template.py)."""

import sys

from .template import main

main(int(sys.argv[-1]))
