"""libSM/libICE through ctypes: just enough of XSMP to be a session client on X11.

Thread contract: every call on one :class:`SmConnection` (and every callback it makes)
happens on the thread that calls :meth:`SmConnection.process`, the GUI thread in the
app: libSM calls the callbacks from inside ``IceProcessMessages``.

Why ctypes: the pip build of Qt's xcb plugin is built without libSM/libICE (no
``xcb-sm`` feature; ``LOGOUT.md`` §1.3), so ``commitDataRequest`` never fires on X11.
The X11 session managers (xfce4-session, KDE's ksmserver, and any other XSMP manager)
speak XSMP over ICE to every client named by ``SESSION_MANAGER``; libSM.so.6 and
libICE.so.6 are on every X11 desktop.

libICE's default I/O error handler calls ``exit()``: :func:`load` replaces it with one
that only logs, and :meth:`SmConnection.process` closes the connection when
``IceProcessMessages`` then reports the error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import enum
import logging
import os
import pwd
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

# XSMP constants (X11/SM/SM.h, X11/ICE/ICElib.h)
SAVE_YOURSELF_MASK = 1 << 0
DIE_MASK = 1 << 1
SAVE_COMPLETE_MASK = 1 << 2
SHUTDOWN_CANCELLED_MASK = 1 << 3
DIALOG_NORMAL = 1
PROCESS_IO_ERROR = 1  # IceProcessMessagesIOError
PROCESS_CONNECTION_CLOSED = 2  # IceProcessMessagesConnectionClosed


class InteractStyle(enum.IntEnum):
    NONE = 0
    ERRORS = 1
    ANY = 2


class RestartStyle(enum.IntEnum):
    IF_RUNNING = 0
    ANYWAY = 1
    IMMEDIATELY = 2
    NEVER = 3


_SaveYourself = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int
)
_Simple = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)  # die, complete, cancelled
_IceIOError = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _Callbacks(ctypes.Structure):
    _fields_ = [
        ("save_yourself", _SaveYourself),
        ("save_yourself_data", ctypes.c_void_p),
        ("die", _Simple),
        ("die_data", ctypes.c_void_p),
        ("save_complete", _Simple),
        ("save_complete_data", ctypes.c_void_p),
        ("shutdown_cancelled", _Simple),
        ("shutdown_cancelled_data", ctypes.c_void_p),
    ]


class _PropValue(ctypes.Structure):
    _fields_ = [("length", ctypes.c_int), ("value", ctypes.c_void_p)]


class _Prop(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("type", ctypes.c_char_p),
        ("num_vals", ctypes.c_int),
        ("vals", ctypes.POINTER(_PropValue)),
    ]


@dataclass(frozen=True)
class SaveYourself:
    """One SaveYourself message: ``shutdown`` means the session is ending."""

    save_type: int
    shutdown: bool
    interact_style: InteractStyle
    fast: bool


class SmHandler:
    """What a session client does with the manager's messages (override these)."""

    def save_yourself(self, request: SaveYourself) -> None: ...

    def interact(self) -> None: ...

    def die(self) -> None: ...

    def save_complete(self) -> None: ...

    def shutdown_cancelled(self) -> None: ...


class _Libs:
    def __init__(self) -> None:
        self.sm = ctypes.CDLL(ctypes.util.find_library("SM") or "libSM.so.6")
        self.ice = ctypes.CDLL(ctypes.util.find_library("ICE") or "libICE.so.6")
        sm, ice = self.sm, self.ice
        sm.SmcOpenConnection.restype = ctypes.c_void_p
        sm.SmcOpenConnection.argtypes = [
            ctypes.c_char_p,
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_ulong,
            ctypes.POINTER(_Callbacks),
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_int,
            ctypes.c_char_p,
        ]
        sm.SmcCloseConnection.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        sm.SmcGetIceConnection.restype = ctypes.c_void_p
        sm.SmcGetIceConnection.argtypes = [ctypes.c_void_p]
        sm.SmcSetProperties.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.POINTER(ctypes.POINTER(_Prop)),
        ]
        sm.SmcInteractRequest.restype = ctypes.c_int
        sm.SmcInteractRequest.argtypes = [ctypes.c_void_p, ctypes.c_int, _Simple, ctypes.c_void_p]
        sm.SmcInteractDone.argtypes = [ctypes.c_void_p, ctypes.c_int]
        sm.SmcSaveYourselfDone.argtypes = [ctypes.c_void_p, ctypes.c_int]
        ice.IceConnectionNumber.restype = ctypes.c_int
        ice.IceConnectionNumber.argtypes = [ctypes.c_void_p]
        ice.IceProcessMessages.restype = ctypes.c_int
        ice.IceProcessMessages.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        ice.IceSetIOErrorHandler.restype = ctypes.c_void_p
        ice.IceSetIOErrorHandler.argtypes = [_IceIOError]
        self.free = ctypes.CDLL(None).free
        self.free.argtypes = [ctypes.c_void_p]
        # libICE's default handler calls exit(): one that only logs, kept alive forever.
        self.io_error_handler = _IceIOError(_on_ice_io_error)
        ice.IceSetIOErrorHandler(self.io_error_handler)


def _on_ice_io_error(_ice_conn: int | None) -> None:
    log.warning("The connection to the X11 session manager broke (ICE I/O error)")


_libs: _Libs | None = None


def load() -> _Libs:
    """Load libSM and libICE once (``OSError`` when they are not installed)."""
    global _libs
    if _libs is None:
        _libs = _Libs()
    return _libs


class SmConnection:
    """One XSMP client connection; callbacks go to ``handler`` from :meth:`process`."""

    def __init__(self, handler: SmHandler, *, previous_id: str | None = None) -> None:
        self._libs = libs = load()
        self._handler = handler
        self._keep: list[object] = []  # ctypes callbacks kept alive
        self._dispatching = False
        self._close_pending = False
        cbs = _Callbacks()
        cbs.save_yourself = _SaveYourself(self._on_save_yourself)
        cbs.die = _Simple(self._guarded(handler.die))
        cbs.save_complete = _Simple(self._guarded(handler.save_complete))
        cbs.shutdown_cancelled = _Simple(self._guarded(handler.shutdown_cancelled))
        self._interact_cb = _Simple(self._guarded(handler.interact))
        self._callbacks = cbs
        client_id = ctypes.c_void_p()
        error = ctypes.create_string_buffer(256)
        mask = SAVE_YOURSELF_MASK | DIE_MASK | SAVE_COMPLETE_MASK | SHUTDOWN_CANCELLED_MASK
        conn = libs.sm.SmcOpenConnection(
            None,
            None,
            1,
            0,
            mask,
            ctypes.byref(cbs),
            previous_id.encode() if previous_id else None,
            ctypes.byref(client_id),
            len(error),
            error,
        )
        if not conn:
            raise ConnectionError(error.value.decode(errors="replace") or "no session manager")
        self._conn: int | None = conn
        self.client_id = ctypes.string_at(client_id.value).decode() if client_id.value else ""
        if client_id.value:
            libs.free(client_id)
        self.fd = libs.ice.IceConnectionNumber(libs.sm.SmcGetIceConnection(conn))

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def _guarded(self, fn: Callable[[], None]) -> Callable[[int | None, int | None], None]:
        def call(_conn: int | None, _data: int | None) -> None:
            try:
                fn()
            except Exception:  # an exception must not unwind through libSM
                log.exception("XSMP callback %s failed", getattr(fn, "__name__", fn))

        return call

    def _on_save_yourself(
        self, _c: int | None, _d: int | None, save_type: int, shutdown: int, style: int, fast: int
    ) -> None:
        request = SaveYourself(save_type, bool(shutdown), InteractStyle(style), bool(fast))
        try:
            self._handler.save_yourself(request)
        except Exception:
            log.exception("XSMP SaveYourself handling failed; answering it done")
            self.save_yourself_done(True)

    def process(self) -> bool:
        """Read and dispatch what the manager sent; False once the connection broke."""
        if self._conn is None:
            return False
        ice = self._libs.sm.SmcGetIceConnection(self._conn)
        self._dispatching = True
        try:
            status = self._libs.ice.IceProcessMessages(ice, None, None)
        finally:
            self._dispatching = False
        if status in (PROCESS_IO_ERROR, PROCESS_CONNECTION_CLOSED) or self._close_pending:
            self.close()
            return False
        return True

    def set_properties(self, props: dict[str, str | Sequence[str] | int]) -> None:
        """Set ``ARRAY8`` (str), ``LISTofARRAY8`` (list) and ``CARD8`` (int) properties."""
        if self._conn is None:
            return
        built = [self._prop(name, value) for name, value in props.items()]
        array = (ctypes.POINTER(_Prop) * len(built))(*[ctypes.pointer(p) for p in built])
        self._libs.sm.SmcSetProperties(self._conn, len(built), array)

    def _prop(self, name: str, value: str | Sequence[str] | int) -> _Prop:
        if isinstance(value, int):
            kind, items = b"CARD8", [bytes([value])]
        elif isinstance(value, str):
            kind, items = b"ARRAY8", [value.encode()]
        else:
            kind, items = b"LISTofARRAY8", [v.encode() for v in value]
        buffers = [ctypes.create_string_buffer(item, len(item)) for item in items]
        vals = (_PropValue * len(items))(
            *[
                _PropValue(len(i), ctypes.cast(b, ctypes.c_void_p))
                for i, b in zip(items, buffers, strict=True)
            ]
        )
        self._keep.extend([buffers, vals])
        return _Prop(name.encode(), kind, len(items), vals)

    def interact_request(self) -> bool:
        """Ask to show a dialog; ``handler.interact`` is called when it is our turn."""
        if self._conn is None:
            return False
        return bool(
            self._libs.sm.SmcInteractRequest(self._conn, DIALOG_NORMAL, self._interact_cb, None)
        )

    def interact_done(self, cancel_shutdown: bool) -> None:
        if self._conn is not None:
            self._libs.sm.SmcInteractDone(self._conn, int(cancel_shutdown))

    def save_yourself_done(self, success: bool) -> None:
        if self._conn is not None:
            self._libs.sm.SmcSaveYourselfDone(self._conn, int(success))

    def close(self) -> None:
        """Close the connection (the manager then forgets us); safe to call twice.

        Called from a callback (``Die``), it closes once libICE has returned: freeing the
        connection under ``IceProcessMessages`` crashes the process."""
        if self._dispatching:
            self._close_pending = True
            return
        conn, self._conn = self._conn, None
        if conn is not None:
            self._libs.sm.SmcCloseConnection(conn, 0, None)


def user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())
