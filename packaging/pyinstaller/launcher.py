"""PyInstaller entry point: the ``almc-assistant`` command line (no command: the tray app)."""

import multiprocessing
import sys

from almc_assistant.cli import main

if __name__ == "__main__":
    # The tray app's engine runs in a child process (spawn): in a frozen bundle that
    # child is this executable again, and this call turns it into the engine.
    multiprocessing.freeze_support()
    sys.exit(main())
