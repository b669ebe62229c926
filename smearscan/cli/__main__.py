"""``python -m smearscan.cli``: the same as the ``smearscan`` command."""

import sys

from smearscan.cli import main

sys.exit(main())
