"""`python -m fedchurn COMMAND ...`: the same as the `fedchurn` console script."""

import sys

from fedchurn.cli import main

sys.exit(main())
