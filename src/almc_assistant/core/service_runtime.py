"""The service's runtime: its worker pool, failure reports, and the catalog it writes.

Thread contract: any thread. :meth:`Runtime.submit` runs a function in one of the
service's two worker threads (or on the caller's thread when ``inline``); an exception
becomes a :class:`~almc_assistant.core.service_events.ServiceFailed` event, never a
silent loss. The catalog opens on first use (repaired if damaged) with its writer thread
(:class:`~almc_assistant.core.catalog.recorder.Recorder`); after :meth:`Runtime.stop`
nothing reopens it (:class:`ServiceStopped`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from almc_assistant.core import service_events as ev
from almc_assistant.core.catalog import Catalog
from almc_assistant.core.catalog.recorder import Recorder
from almc_assistant.core.errors import AlmcError, ServiceStopped
from almc_assistant.core.events import EventSink
from almc_assistant.core.paths import AppPaths
from almc_assistant.core.service_settings import LiveSettings
from almc_assistant.core.shared_state import user_catalog

log = logging.getLogger(__name__)
T = TypeVar("T")


class Runtime:
    """Workers, failures and the catalog, shared by every part of the service."""

    def __init__(
        self,
        paths: AppPaths,
        sink: EventSink,
        settings: LiveSettings,
        *,
        clock: Callable[[], float],
        inline: bool,
        verify_catalog: bool,
    ) -> None:
        self.paths = paths
        self.sink = sink
        self.settings = settings
        self.clock = clock
        self.inline = inline
        self.lock = threading.RLock()
        self.notes: list[str] = []  # problems to show in status and warnings
        self._verify_catalog = verify_catalog  # quick_check at open (headless watcher)
        self._catalog: Catalog | None = None
        self._recorder: Recorder | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._stopped = False

    # ------------------------------------------------------------------ catalog
    @property
    def catalog(self) -> Catalog:
        """The catalog, opened (and repaired if damaged) on first use."""
        with self.lock:
            if self._catalog is None:
                self.refuse_when_stopped()
                self._catalog = self._open_catalog()
            return self._catalog

    def _open_catalog(self) -> Catalog:
        config = self.settings.config
        place = user_catalog(config.shared_state_dir, self.paths.catalog_db)
        self.notes.extend(n for n in place.notes if n not in self.notes)
        cat = Catalog(
            place.path,
            safety=lambda copies: self.settings.policy.is_safe(copies),
            safety_key=self.settings.policy.key,
            busy_timeout=config.busy_timeout_seconds,
            clock=self.clock,
            verify=self._verify_catalog,
        )
        # Where this user's settings are: staff's cleanup reads the user's own
        # destinations from there (a file the user owns; see core.staff_view).
        where = str(self.paths.user_config.absolute())
        if cat.noted("user_config") != where:
            cat.note("user_config", where)
        if cat.recovery is not None:
            self.notes.append(cat.recovery.message())
            self.sink.publish(
                ev.CatalogRecovered(damaged=cat.recovery.damaged, message=cat.recovery.message())
            )
        self._recorder = Recorder(
            cat,
            on_error=self._on_record_error,
            on_recovered=self._on_record_recovered,
            inline=self.inline,
        )
        self._recorder.start()
        return cat

    @property
    def recorder(self) -> Recorder:
        """The catalog's writer (queued, batched writes)."""
        _ = self.catalog
        assert self._recorder is not None
        return self._recorder

    def _on_record_error(self, exc: BaseException, waiting: int) -> None:
        if isinstance(exc, AlmcError):
            self.sink.publish(
                ev.CatalogBacklog(
                    waiting=waiting, title=exc.title, detail=exc.detail, next_step=exc.next_step
                )
            )
        else:
            self.failed("record", exc)

    def _on_record_recovered(self) -> None:
        self.sink.publish(
            ev.CatalogBacklog(
                waiting=0,
                title="Catalog up to date",
                detail="Waiting records were written.",
                next_step="",
            )
        )

    # ------------------------------------------------------------------ workers
    def failed(self, action: str, exc: BaseException) -> None:
        """Publish a worker's failure (an unexpected one is logged with its traceback)."""
        if isinstance(exc, AlmcError):
            event = ev.ServiceFailed(
                action=action, title=exc.title, detail=exc.detail, next_step=exc.next_step
            )
        else:
            log.error("%s failed", action, exc_info=exc)
            event = ev.ServiceFailed(
                action=action,
                title="Internal error",
                detail=f"{type(exc).__name__}: {exc}",
                next_step="Send the log file to the facility staff.",
            )
        self.sink.publish(event)

    def submit(self, action: str, fn: Callable[[], T]) -> Future[T]:
        """Run ``fn`` in a service worker; an exception becomes a ServiceFailed event."""

        def run() -> T:
            try:
                return fn()
            except BaseException as exc:
                self.failed(action, exc)
                raise

        if self.inline:
            future: Future[T] = Future()
            try:
                future.set_result(run())
            except BaseException as exc:
                future.set_exception(exc)
            return future
        with self.lock:
            self.refuse_when_stopped()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(2, thread_name_prefix="almc-service")
            return self._pool.submit(run)

    def finish_work(self) -> None:
        """Wait for the work submitted so far (blocking: ``scan_once``)."""
        with self.lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def refuse_when_stopped(self) -> None:
        """A stopped service stays stopped: a late call (a timer firing during shut-down)
        must not reopen the catalog and start a writer thread that nobody stops."""
        if self._stopped:
            raise ServiceStopped(
                "almc-assistant is shutting down and no longer reads or records files.",
                next_step="Start almc-assistant again to go on.",
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the workers, write what is queued, close the catalog."""
        with self.lock:
            self._stopped = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        # Stop the writer while the catalog is still open: its after-commit calls
        # (status updates) read it; only then forget both.
        recorder = self._recorder
        left = recorder.stop(timeout) if recorder is not None else 0
        with self.lock:
            self._recorder = None
            catalog, self._catalog = self._catalog, None
        if left:
            self.sink.publish(
                ev.CatalogBacklog(
                    waiting=left,
                    title="Catalog records not written",
                    detail=f"{left} records could not be written before stopping.",
                    next_step="They are found again by the next scan.",
                )
            )
        if catalog is not None:
            catalog.close()
