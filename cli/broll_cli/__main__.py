"""`python -m broll_cli ...`: the same as the `broll` command."""

import sys

from .app import main

sys.exit(main())
