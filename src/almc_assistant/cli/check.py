"""`almc-assistant check PATH... [--json]`: a verdict per file and per dataset.

Thread contract: main thread. The service (``check_now``) checks files in the core's
worker pool and publishes progress events; a rich progress bar on stderr shows them.

Exit status: 0 when every file (or dataset) is native-ok or tiff-uncompressed-ok with no
flag; 1 when anything is flagged, compressed, damaged or unreadable; 2 on usage errors.
A dataset's metadata (``dataset-metadata``: Harmony's index, FFC and assay-layout XML) is
judged with its dataset, never as an export to fix (the command's help says so).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from almc_assistant.cli import _common
from almc_assistant.core.errors import UsageError
from almc_assistant.core.events import CallbackSink, Event


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="say, per file and dataset, whether it is native, an uncompressed export, "
        "compressed, lossy or damaged",
        description=(
            "Check files and folders (recursively): each file is judged from its headers, "
            "never its name. Files that belong together are judged as one dataset: an "
            "Opera Phenix / Harmony export (its Index.idx.xml, the images it lists, its "
            "FFC_Profile and Assaylayout XML), an ND2 series (run001.nd2, run002.nd2, "
            "...), an OIF with its .oif.files folder, a VSI with its _name_ folder, a "
            "Micro-Manager acquisition, a multi-part CZI or OIR. A dataset's own metadata "
            "files get the verdict dataset-metadata: they are part of the dataset (checked "
            "with it, copied with it), not exports to fix; a dataset is damaged when a "
            "file it lists is missing. Exit status 0 when every dataset and every other "
            "file is native-ok or tiff-uncompressed-ok without flags, 1 otherwise, 2 on "
            "usage errors. --json gives 'files' (each with its 'dataset' and 'folder') "
            "and 'datasets' (each with its kind, verdict, members and missing files)."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to check")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--workers", type=int, default=None, help="files checked in parallel")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from almc_assistant.cli._service import open_service

    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(
            f"No such file or folder: {', '.join(missing)}.",
            next_step="Check the path (quote it if it contains spaces).",
            paths=tuple(missing),
        )
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1.")
    with (
        _Progress() as progress,
        open_service(CallbackSink(progress.on_event), show_problems=False) as service,
    ):
        report = service.check_now(args.paths, workers=args.workers, record=False)
    if args.json:
        _common.print_json(report.as_dict())
    else:
        from almc_assistant.cli import check_table

        check_table.render(report)
    return _common.EXIT_OK if report.all_ok else _common.EXIT_FAILED


class _Progress:
    """A progress bar on stderr while files are checked (only on a terminal)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        console = Console(stderr=True)
        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task("Checking", total=None)

    def __enter__(self) -> _Progress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def on_event(self, event: Event) -> None:
        from almc_assistant.core.inspect import CheckStarted, FileChecked

        if isinstance(event, CheckStarted):
            self._bar.update(self._task, total=event.total)
        elif isinstance(event, FileChecked):
            name = Path(event.path).name
            self._bar.update(self._task, completed=event.done, description=f"Checking {name[:40]}")
