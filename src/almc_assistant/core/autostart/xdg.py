"""Linux and other freedesktop systems: a desktop entry in ``$XDG_CONFIG_HOME/autostart``.

Thread contract: see :mod:`almc_assistant.core.autostart.base`.

Follows the XDG Autostart specification: the user's ``$XDG_CONFIG_HOME/autostart``
(default ``~/.config/autostart``) overrides a system-wide entry of the same name in
``$XDG_CONFIG_DIRS/*/autostart`` (default ``/etc/xdg``), which a facility may install
for all users. An entry does not start when it has ``Hidden=true`` or GNOME's
``X-GNOME-Autostart-enabled=false`` (what GNOME Tweaks writes). So disabling removes our
own entry, or, when a system-wide one exists, writes a user entry with ``Hidden=true``.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from almc_assistant.core.autostart.base import file_error, remove_file, write_entry

FILE_NAME = "almc-assistant.desktop"
GROUP = "Desktop Entry"
# Characters that make the Desktop Entry spec's Exec key quote an argument.
_STRING_ESCAPES = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_RESERVED = re.compile(r"[\s\"'\\><~|&;$*?#()`]")


class XdgAutostart:
    """The ``almc-assistant.desktop`` autostart entry of one user."""

    def __init__(self, config_home: Path, config_dirs: Sequence[Path] = ()) -> None:
        self.path = config_home / "autostart" / FILE_NAME
        self.system_paths = tuple(d / "autostart" / FILE_NAME for d in config_dirs)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> XdgAutostart:
        env = os.environ if environ is None else environ
        home = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        dirs = [d for d in (env.get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":") if d]
        return cls(Path(home), [Path(d) for d in dirs])

    @property
    def location(self) -> str:
        return str(self.path)

    def registered_command(self) -> tuple[str, ...] | None:
        for path in (self.path, *self.system_paths):
            entry = _read(path)
            if entry is not None:  # the first one found decides (user's over system's)
                return _command_of(entry)
        return None

    def enable(self, command: Sequence[str]) -> None:
        write_entry(self.path, desktop_entry(command).encode("utf-8"))

    def disable(self) -> None:
        if any(_read(p) is not None for p in self.system_paths):
            write_entry(self.path, desktop_entry((), hidden=True).encode("utf-8"))
        else:
            remove_file(self.path)


def desktop_entry(command: Sequence[str], *, hidden: bool = False) -> str:
    """The text of our autostart entry (``Hidden=true`` masks a system-wide one)."""
    lines = [
        f"[{GROUP}]",
        "Type=Application",
        "Name=almc-assistant",
        "Comment=Reminds you before microscopy data that is not backed up is at risk",
        "Icon=almc-assistant",
        "Terminal=false",
        "NoDisplay=false",
    ]
    if hidden:
        lines += ["Exec=almc-assistant", "Hidden=true", "X-GNOME-Autostart-enabled=false"]
    else:
        lines += [
            f"Exec={exec_value(command)}",
            "Hidden=false",
            "X-GNOME-Autostart-enabled=true",
        ]
    return "\n".join(lines) + "\n"


def exec_value(command: Sequence[str]) -> str:
    """``command`` as an ``Exec`` value: arguments with reserved characters in double
    quotes (``"``, `````, ``$`` and ``\\`` escaped inside), ``%`` doubled, and then every
    backslash escaped once more, as the value is a string (Desktop Entry spec, Exec key)."""
    words = []
    for arg in command:
        arg = arg.replace("%", "%%")
        if _RESERVED.search(arg) or arg == "":
            arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
        words.append(arg)
    return " ".join(words).replace("\\", "\\\\")


def parse_exec(value: str) -> tuple[str, ...]:
    """The arguments of an ``Exec`` value (the inverse of :func:`exec_value`; field
    codes such as ``%F`` are dropped)."""
    text = re.sub(r"\\(.)", lambda m: _STRING_ESCAPES.get(m[1], m[1]), value)
    words: list[str] = []
    current: list[str] = []
    quoted = started = False
    i = 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and i + 1 < len(text) and text[i + 1] in '"`$\\':
            current.append(text[i + 1])
            i += 1
        elif c == '"':
            quoted = not quoted
            started = True
        elif c.isspace() and not quoted:
            if current or started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(c)
        i += 1
    if current or started:
        words.append("".join(current))
    return tuple(w.replace("%%", "%") for w in words if not re.fullmatch(r"%[a-zA-Z]", w))


def _read(path: Path) -> configparser.SectionProxy | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        err = exc if isinstance(exc, OSError) else OSError(0, "not UTF-8 text")
        raise file_error(err, "read the start-at-login entry", path) from exc
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error:
        return None  # not a desktop entry the session would start either
    return parser[GROUP] if parser.has_section(GROUP) else None


def _command_of(entry: configparser.SectionProxy) -> tuple[str, ...] | None:
    if entry.get("Hidden", "false").strip().lower() == "true":
        return None
    if entry.get("X-GNOME-Autostart-enabled", "true").strip().lower() == "false":
        return None
    command = parse_exec(entry.get("Exec", ""))
    return command or None
