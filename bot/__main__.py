"""`python -m bot …`: the commands live in `bot.cli`."""

import sys

from bot.cli.main import main

sys.exit(main())
