"""`almc-assistant watch [--once] [--json]`: watch the acquisition folders headless.

Thread contract: main thread; the watcher's threads record into the catalog through the
core service and publish events, which this thread prints until Ctrl-C.

``--once`` scans the folders, updates the catalog (new, changed, finished, moved and
deleted files; verdicts of finished files) and exits: 0 when nothing was lost, 1 when a
file was found deleted without a verified copy or a folder could not be read. With no
acquisition folders set up, both forms exit 2 with the words of ``status`` and the tray.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from almc_assistant.cli import _common
from almc_assistant.cli._service import open_service
from almc_assistant.core.events import Event, QueueSink
from almc_assistant.core.setup_state import NotSetUp


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "watch",
        help="watch the acquisition folders headless; --once scans and exits",
        description="Watch the acquisition folders the facility configured, record every "
        "file in the catalog, check finished files, and report files deleted without a "
        "backup. With --once, scan, update the catalog and exit.",
    )
    p.add_argument("--once", action="store_true", help="scan once, update the catalog, exit")
    p.add_argument("--json", action="store_true", help="print one JSON document (with --once)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from almc_assistant.core import service_events as ev
    from almc_assistant.core import watch as w

    sink = QueueSink()
    with open_service(sink, show_problems=not args.json, verify=True) as service:
        setup = service.setup_needed()
        if setup is not None:  # the same words as status and the tray; exit status 2
            raise NotSetUp(setup)
        if args.once:
            started = time.monotonic()
            service.scan_once()
            events = sink.drain()
            pending = service.pending_summary()
        else:
            service.start_watching()
            sys.stderr.write(
                f"Watching {', '.join(map(str, service.config.acquisition_folders))}; "
                "Ctrl-C stops.\n"
            )
            try:
                _stop_on_sigterm()
                while True:
                    event = sink.get(timeout=0.5)
                    if event is not None:
                        _print(event)
            except KeyboardInterrupt:
                sys.stderr.write("Stopping...\n")
            return _common.EXIT_OK
    counts = {
        "appeared": sum(isinstance(e, w.FileAppeared) for e in events),
        "finished": sum(isinstance(e, w.FileStabilised) for e in events),
        "moved": sum(isinstance(e, w.FileMoved) for e in events),
        "deleted": sum(isinstance(e, w.FileDeleted) for e in events),
    }
    lost = [str(e.path) for e in events if isinstance(e, ev.FileLost)]
    failures = [
        e for e in events if isinstance(e, (w.WatchFailed, w.FolderUnavailable, ev.ServiceFailed))
    ]
    problems = [_describe(e) for e in failures]
    if args.json:
        _common.print_json(
            {
                "ok": not lost and not problems,
                **counts,
                "lost": lost,
                "problems": problems,
                "pending_files": pending.files,
                "pending_bytes": pending.bytes,
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    else:
        from almc_assistant.core.units import human_size, plural

        print(
            f"Scanned: {counts['appeared']} new, {counts['finished']} finished, "
            f"{counts['moved']} moved, {counts['deleted']} deleted. "
            f"Not yet safe: {plural(pending.files, 'file')} ({human_size(pending.bytes)})."
        )
        for path in lost:
            print(f"LOST (deleted without a backup): {path}")
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
    return _common.EXIT_FAILED if lost or problems else _common.EXIT_OK


def _stop_on_sigterm() -> None:
    """``kill``, a service manager or a logout stops the watch like Ctrl-C does: the
    watcher stops and the catalog's queued records are written before exiting."""

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _describe(event: Event) -> str:
    """The cause and, where the event has one, the next step."""
    detail = getattr(event, "detail", None) or getattr(event, "reason", "")
    next_step = getattr(event, "next_step", "")
    text = f"{detail} {next_step}".strip() if next_step else str(detail)
    where = getattr(event, "folder", None)
    return f"{where}: {text}" if where else text


def _print(event: Event) -> None:
    name = type(event).__name__
    fields = {k: getattr(event, k) for k in getattr(event, "__dataclass_fields__", {}) if k != "at"}
    text = ", ".join(f"{k}={v}" for k, v in fields.items() if not isinstance(v, tuple))
    print(f"{time.strftime('%H:%M:%S')} {name} {text}", flush=True)
