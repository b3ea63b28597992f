"""Workarounds for bugs in the PySide6 release we run on. Imported by ``qt/__init__``.

Thread contract: runs once at import, before any Qt object exists.

PySide6 6.12.0 on CPython 3.11: every ``SignalInstance.emit()`` and ``connect()`` drops
one reference to ``True`` that it never took (a missing ``Py_INCREF`` on the returned
bool). After a few hundred emits the interpreter aborts with "Fatal Python error:
bool_dealloc: deallocating True or False". Reproduce with
``tests/qt/test_pyside_workarounds.py``. CPython 3.12+ made ``True``/``False``
immortal (PEP 683), so the bug is harmless there; on 3.11 we do the same by hand: the
two singletons are static objects that are never freed, so giving them a huge reference
count costs nothing and makes the stray decrements harmless.

The same release drops a reference to ``None`` on calls such as
``QTimer.singleShot(ms, callable)`` and ``QCoreApplication.processEvents()`` (two and one
per call, measured); after a few thousand the interpreter aborts with "none_dealloc:
deallocating None". ``None`` is a static object too and gets the same treatment
(``tests/qt/session/test_pyside_none_refcount.py``).
"""

from __future__ import annotations

import ctypes
import sys

# Far more than any process emits, far below overflow of Py_ssize_t.
_RESERVE = 1 << 48


def make_bools_immortal() -> bool:
    """On CPython < 3.12, raise the reference count of True, False and None; True if done."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for singleton in (True, False, None):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is first
        if refcount.value < _RESERVE:
            refcount.value += _RESERVE
    return True


make_bools_immortal()
