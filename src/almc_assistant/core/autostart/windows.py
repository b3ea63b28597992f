"""Windows: the ``almc-assistant`` value under ``HKCU\\...\\CurrentVersion\\Run``.

Thread contract: see :mod:`almc_assistant.core.autostart.base`.

The registry is reached through a small port (:class:`RunKey`), so the logic runs and is
tested anywhere; :class:`WinRegRunKey` is the real one (``winreg``, Windows only). The
per-user Run key needs no administrator rights and is what Task Manager's Startup tab
and Settings > Apps > Startup list. Switching it off there keeps the Run value and
records "disabled" as a binary value of the same name under
``...\\Explorer\\StartupApproved\\Run`` (first byte 0x02 enabled, 0x03 disabled; the
rest a time stamp). So a Run value marked disabled there counts as off, and enabling
from the app removes that mark, or the user's tick would do nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from almc_assistant.core.autostart.base import ERROR_TITLE
from almc_assistant.core.errors import AlmcError

T = TypeVar("T")

RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
APPROVED_KEY = r"Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
VALUE_NAME = "almc-assistant"


class RunKey(Protocol):
    """String values of the current user's Run key, and the Startup-apps mark of each."""

    def read(self, name: str) -> str | None: ...
    def write(self, name: str, value: str) -> None: ...
    def delete(self, name: str) -> None: ...
    def approval(self, name: str) -> bytes | None:
        """The StartupApproved\\Run value of ``name`` (``None`` when absent)."""
        ...

    def clear_approval(self, name: str) -> None: ...


class WindowsRunAutostart:
    """The Run value that starts almc-assistant at login."""

    def __init__(self, key: RunKey | None = None, name: str = VALUE_NAME) -> None:
        self._key = key if key is not None else WinRegRunKey()
        self._name = name

    @property
    def location(self) -> str:
        return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{self._name}"

    def registered_command(self) -> tuple[str, ...] | None:
        value = self._guard("read", lambda: self._key.read(self._name))
        if not value or not value.strip():
            return None
        mark = self._guard("read", lambda: self._key.approval(self._name))
        if mark and mark[0] & 1:  # switched off in Task Manager or Settings
            return None
        return split_command_line(value)

    def enable(self, command: Sequence[str]) -> None:
        line = subprocess.list2cmdline([str(a) for a in command])
        self._guard("write", lambda: self._key.write(self._name, line))
        self._guard("write", lambda: self._key.clear_approval(self._name))

    def disable(self) -> None:
        self._guard("remove", lambda: self._key.delete(self._name))
        self._guard("remove", lambda: self._key.clear_approval(self._name))

    def _guard(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except OSError as exc:
            raise AlmcError(
                f"Could not {action} the registry value {self.location}: {exc.strerror or exc}.",
                title=ERROR_TITLE,
                next_step="Check that you may change your own startup programs (a policy "
                "of your organisation may forbid it); meanwhile, start almc-assistant "
                "yourself after you log in.",
                paths=(self.location,),
            ) from exc


def split_command_line(line: str) -> tuple[str, ...]:
    """Split a Windows command line as ``CommandLineToArgvW`` does (double quotes group;
    backslashes are literal except in front of a double quote); the inverse of
    ``subprocess.list2cmdline``."""
    words: list[str] = []
    current = ""
    quoted = started = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            j = i
            while j < len(line) and line[j] == "\\":
                j += 1
            if j < len(line) and line[j] == '"':
                current += "\\" * ((j - i) // 2)
                if (j - i) % 2:  # an escaped quote
                    current += '"'
                    j += 1
            else:
                current += "\\" * (j - i)
            i = j
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c in " \t" and not quoted:
            if current or started:
                words.append(current)
            current, started = "", False
        else:
            current += c
        i += 1
    if current or started:
        words.append(current)
    return tuple(words)


class WinRegRunKey:
    """The real keys through ``winreg`` (Windows only)."""

    def read(self, name: str) -> str | None:
        value = _query(RUN_KEY, name)
        return value if isinstance(value, str) else None

    def write(self, name: str, value: str) -> None:
        if sys.platform != "win32":
            raise OSError(0, _ONLY_WINDOWS)
        import winreg

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        _delete(RUN_KEY, name)

    def approval(self, name: str) -> bytes | None:
        value = _query(APPROVED_KEY, name)
        return value if isinstance(value, bytes) else None

    def clear_approval(self, name: str) -> None:
        _delete(APPROVED_KEY, name)


_ONLY_WINDOWS = "the Windows registry exists only on Windows"


def _query(subkey: str, name: str) -> object:
    if sys.platform != "win32":
        raise OSError(0, _ONLY_WINDOWS)
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, subkey) as key:
            value, _kind = winreg.QueryValueEx(key, name)
    except FileNotFoundError:
        return None
    return value


def _delete(subkey: str, name: str) -> None:
    if sys.platform != "win32":
        raise OSError(0, _ONLY_WINDOWS)
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, subkey, 0, winreg.KEY_SET_VALUE) as key:
            winreg.DeleteValue(key, name)
    except FileNotFoundError:
        pass
