"""``python -m smearscan``: the same as the ``smearscan`` command."""

import sys

from smearscan.console import main

sys.exit(main())
