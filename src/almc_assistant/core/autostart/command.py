"""Which command starts almc-assistant at login, for the way it is installed.

Thread contract: plain functions on plain values, safe anywhere.

- A frozen build (PyInstaller): the tray executable itself, ``sys.executable``. The
  console twin (``almc-assistant-cli.exe``) registers its windowless sibling
  (``almc-assistant.exe``): a console window at every login would be wrong.
- A pip, pipx or venv install: the ``almc-assistant`` console script next to the
  interpreter when it exists, else ``python -m almc_assistant`` with that interpreter
  (on Windows ``pythonw.exe``, again to open no console window).
"""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPT_NAME = "almc-assistant"
CLI_SUFFIX = "-cli"


def launch_command(
    *,
    executable: str | None = None,
    frozen: bool | None = None,
    platform: str | None = None,
) -> tuple[str, ...]:
    """The program and arguments that start the tray app (defaults: this process)."""
    exe = Path(executable if executable is not None else sys.executable)
    is_frozen = bool(getattr(sys, "frozen", False)) if frozen is None else frozen
    plat = sys.platform if platform is None else platform
    windows = plat == "win32"
    if is_frozen:
        return (str(_gui_twin(exe, windows)),)
    if windows:
        # The console script would open a console window at every login: pythonw.
        pythonw = exe.with_name("pythonw.exe")
        if pythonw.is_file():
            exe = pythonw
    else:
        script = exe.parent / SCRIPT_NAME  # the venv's (or pipx's) bin folder
        if script.is_file():
            return (str(script),)
    return (str(exe), "-m", "almc_assistant")


def _gui_twin(exe: Path, windows: bool) -> Path:
    """``almc-assistant-cli[.exe]`` -> ``almc-assistant[.exe]`` when that exists."""
    stem = exe.stem if windows else exe.name
    if not stem.endswith(CLI_SUFFIX):
        return exe
    twin = exe.with_name(stem[: -len(CLI_SUFFIX)] + (exe.suffix if windows else ""))
    return twin if twin.is_file() else exe


def running_from_source(package_file: str | None = None, frozen: bool | None = None) -> bool:
    """Whether this process runs from a source checkout (``./dev app``, an editable
    install): its package sits in ``src/`` of a folder with ``pyproject.toml``. Such a
    run never registers itself to start at login unless the user asks: the entry would
    point into a clone's ``.venv``, which moves, changes and disappears."""
    if bool(getattr(sys, "frozen", False)) if frozen is None else frozen:
        return False
    if package_file is None:
        import almc_assistant

        package_file = almc_assistant.__file__ or ""
    package = Path(package_file).resolve().parent
    root = package.parent.parent
    return package.parent.name == "src" and (root / "pyproject.toml").is_file()


def program_exists(command: tuple[str, ...] | None) -> bool:
    """Whether a registered command's program is still there (an app moved or removed
    leaves a stale entry behind)."""
    return command is not None and len(command) > 0 and Path(command[0]).is_file()
