"""``python -m responses_fast.cli``: the same as the ``responses-fast`` command."""

import sys

from .main import main

sys.exit(main())
