"""A recording stand-in for the Windows API (the one thing we cannot reach on Linux)."""

from __future__ import annotations


class FakeWin32Api:
    """Records every call; ``fail`` names calls that should report failure."""

    def __init__(self, *, fail: set[str] | None = None, idle: float | None = 0.0) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.fail = set(fail or ())
        self.idle = idle
        self.reason: dict[int, str] = {}  # what Windows would show, per window

    def _ok(self, name: str, *args: object) -> bool:
        self.calls.append((name, *args))
        return name not in self.fail

    def shutdown_block_reason_create(self, hwnd: int, reason: str) -> bool:
        ok = self._ok("ShutdownBlockReasonCreate", hwnd, reason)
        if ok:
            self.reason[hwnd] = reason
        return ok

    def shutdown_block_reason_destroy(self, hwnd: int) -> bool:
        ok = self._ok("ShutdownBlockReasonDestroy", hwnd)
        if ok:
            self.reason.pop(hwnd, None)
        return ok

    def set_process_shutdown_parameters(self, level: int, flags: int) -> bool:
        return self._ok("SetProcessShutdownParameters", level, flags)

    def wts_register_session_notification(self, hwnd: int) -> bool:
        return self._ok("WTSRegisterSessionNotification", hwnd)

    def wts_unregister_session_notification(self, hwnd: int) -> bool:
        return self._ok("WTSUnRegisterSessionNotification", hwnd)

    def idle_seconds(self) -> float | None:
        return self.idle

    def last_error(self) -> int:
        return 5  # ERROR_ACCESS_DENIED

    def names(self) -> list[object]:
        return [c[0] for c in self.calls]
