"""Naming Qt slots for QtDBus's string-based ``connect``.

Thread contract: pure, safe anywhere. QtDBus connects D-Bus signals to slots by
signature, in Qt's ``SLOT()`` spelling (a ``1`` prefix). The slot's signature must match
the D-Bus arguments exactly: a ``u`` argument needs ``@Slot("uint")``; ``@Slot(int)``
connects (``connect`` returns True) but is never called (``LOGOUT.md`` §4.5).
"""

from __future__ import annotations

from typing import Any


def qt_slot(signature: str) -> Any:
    """``qt_slot("_on_x(bool)")`` is what ``SLOT("_on_x(bool)")`` gives in C++.

    Typed ``Any``: PySide6 6.12's stubs ask for ``bytes`` here, but at run time
    ``QDBusConnection.connect`` accepts only ``str`` (bytes raise ``ValueError``).
    """
    return "1" + signature
