"""PyInstaller entry point: the ``almc-assistant`` command line (no command: the tray app)."""

import sys

from almc_assistant.cli import main

if __name__ == "__main__":
    sys.exit(main())
