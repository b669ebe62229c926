"""``python -m smearscan``: the same as the ``smearscan`` command."""

import sys

from smearscan.cli import main

sys.exit(main())
