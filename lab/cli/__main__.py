"""`python -m lab.cli`: the `lab` command."""

import os
import sys

from lab.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
