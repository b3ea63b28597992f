"""``python -m almc_assistant`` runs the command line."""

import sys

from almc_assistant.cli import main

sys.exit(main())
