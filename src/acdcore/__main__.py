"""``python -m acdcore`` is the ``acdcore`` command line."""

import sys

from .cli import main

sys.exit(main())
