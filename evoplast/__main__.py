"""``python -m evoplast ...``: the same as the ``evoplast`` command."""

import sys

from .cli import main

sys.exit(main())
