"""The GUI names the service's values by their types (issue 12): no ``Any``, no
``getattr(obj, "attr", default)`` duck-typing in ``almc_assistant.qt``.

Each ``Any`` still in the package and each ``getattr`` is listed here, line by line, with
why it is right; a new one fails the test until it is given its real type (the event,
report or record the port hands over) or listed with a reason. mypy checks the same for
``Any`` (``disallow_any_explicit`` on qt, but in the modules listed in pyproject.toml).
"""

from __future__ import annotations

import io
import tokenize
from collections import Counter
from pathlib import Path

import almc_assistant.qt

QT = Path(almc_assistant.qt.__file__).parent

_WIN32 = "ctypes functions of the Windows API, set on Windows only (typeshed hides them)"
KEPT_ANY: dict[tuple[str, str], str] = {
    **{
        ("session/win32api.py", f"_{name}: Any"): _WIN32
        for name in (
            "create",
            "destroy",
            "params",
            "register",
            "unregister",
            "get_last_input",
            "tick",
            "lastinput",
            "ctypes",
            "get_last_error",
        )
    },
    (
        "session/windows.py",
        "def nativeEventFilter(self, eventType: Any, message: Any) -> tuple[bool, int]:",
    ): "Qt's override: a QByteArray or bytes, and the MSG's address as an int",
    ("session/dbus_slots.py", "def qt_slot(signature: str) -> Any:"): (
        "a SLOT() string: the stubs ask for bytes, QDBusConnection.connect takes str"
    ),
    ("bridge.py", "KeyFunc = Callable[[Any], Hashable]"): (
        "a key function per event type, called only with events of its type"
    ),
    ("bridge.py", "SlotFn = Callable[[Any], None]"): (
        "a slot per event type (subscribe's E), called only with events of its type"
    ),
    ("group_model.py", "def parent(self, *args: Any) -> Any:"): (
        "one method for Qt's two overloads: QObject.parent() and the model's parent(index)"
    ),
}

ALLOWED_GETATTR: dict[tuple[str, str], str] = {
    (
        "session/libsm.py",
        'log.exception("XSMP callback %s failed", getattr(fn, "__name__", fn))',
    ): "a callable may have no name (a partial): not a service value",
    ("session/posix_signals.py", 'hup = getattr(signal, "SIGHUP", None)'): (
        "SIGHUP does not exist on Windows"
    ),
    ("session/hooks.py", 'allow = getattr(backend, "allow_quit", None)'): (
        "an optional method of a platform adapter (macOS's CommitDataHandler)"
    ),
    (
        "app.py",
        'if not any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):',
    ): "logging handlers: only file handlers have a file name",
}


def names_in(source: str, name: str) -> Counter[str]:
    """Stripped source lines where the identifier ``name`` is used (not in comments,
    strings or imports), with how often."""
    lines = source.splitlines()
    found: Counter[str] = Counter()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NAME and tok.string == name:
            line = lines[tok.start[0] - 1].strip()
            if not line.startswith(("from ", "import ")):
                found[line] += 1
    return found


def uses(name: str) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for path in sorted(QT.rglob("*.py")):
        rel = path.relative_to(QT).as_posix()
        for line, n in names_in(path.read_text(encoding="utf-8"), name).items():
            out[(rel, line)] = n
    return out


def test_the_scanner_sees_annotations_but_not_comments_strings_or_imports() -> None:
    source = (
        "from typing import Any\n"
        "# Any in a comment\n"
        'x = "Any in a string"\n'
        "def f(a: Any, b: Any) -> None: ...\n"
        "y = getattr(obj, 'attr', None)\n"
    )
    assert names_in(source, "Any") == {"def f(a: Any, b: Any) -> None: ...": 2}
    assert names_in(source, "getattr") == {"y = getattr(obj, 'attr', None)": 1}


def _listed(name: str, listed: dict[tuple[str, str], str], advice: str) -> None:
    """Every use of ``name`` in the GUI is in ``listed``, and nothing else is."""
    found = uses(name)
    new = sorted(set(found) - set(listed))
    assert not new, f"{name} in the GUI: {advice}, or list it with why: {new}"
    gone = sorted(set(listed) - set(found))
    assert not gone, f"no longer in the GUI: take them off the list: {gone}"


def test_every_any_left_in_the_gui_is_listed_with_its_reason() -> None:
    _listed("Any", KEPT_ANY, "give the value its real type (the port's event, report, record)")
    assert sum(uses("Any").values()) == 17  # 10 ctypes, 2 + 2 Qt overrides, 2 bridge, 1 D-Bus


def test_no_getattr_duck_typing_in_the_gui() -> None:
    _listed(
        "getattr",
        ALLOWED_GETATTR,
        "read the attribute of the service's value by its type (isinstance for a union)",
    )
