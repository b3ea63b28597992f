"""Workarounds for bugs in the PySide6 release we run on. Imported by ``qt/__init__``.

Thread contract: runs once at import, before any Qt object exists.

PySide6 6.12.0 on CPython 3.11 returns singletons without taking a reference: every
``SignalInstance.emit()`` and ``connect()`` drops one reference to ``True``, and every
call of a method returning ``void`` (``QLabel.setText``, ``beginInsertRows``,
``processEvents``, ...) drops one to ``None``. After a few hundred emits, or a few
thousand calls, the interpreter aborts with "Fatal Python error: bool_dealloc" or
"none_dealloc". Reproduce with ``tests/qt/test_pyside_workarounds.py`` and
``tests/qt/session/test_pyside_none_refcount.py``. CPython 3.12+
made these singletons immortal (PEP 683), so the bug is harmless there; on 3.11 we do
the same by hand: they are static objects that are never freed, so giving them a huge
reference count costs nothing and makes the stray decrements harmless.
"""

from __future__ import annotations

import ctypes
import sys

# Far more than any process emits, far below overflow of Py_ssize_t.
_RESERVE = 1 << 48


def make_singletons_immortal() -> bool:
    """On CPython < 3.12, raise the reference count of None, True, False; True if done."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for singleton in (None, True, False, Ellipsis, NotImplemented):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is first
        if refcount.value < _RESERVE:
            refcount.value += _RESERVE
    return True


make_singletons_immortal()
