"""Screenshots of datasets as units (issue 16), for the README and review (not CI).

Usage (Linux; needs Xvfb; the shared corpus gives real ND2s, else cut-off ones)::

    python bench/screenshots_datasets.py [--out DIR] [--corpus DIR]

It starts Xvfb itself when no ``DISPLAY`` is set. A real site (the real service,
catalog and checks) holds one session: a 300-tile Opera Phenix plate with its index,
FFC profile and assay layout, an ND2 series (two runs), a loose ND2 and a damaged
Deflate-compressed export. It saves what the user sees:

- ``transfer-datasets``: the session folder dropped on the transfer window, checked:
  what needs a look first, the plate one row (opened after that, ``-open``);
- ``wizard-datasets-files`` and ``wizard-datasets-fix``: the session-end wizard's first
  two pages on the same session.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def run(out: Path, corpus: Path | None) -> int:
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QWizard
    from tests.qt import dataset_samples

    from almc_assistant.qt import app as app_module
    from bench.screenshots_wizard import Case

    qapp = app_module._application()
    out.mkdir(parents=True, exist_ok=True)
    case = Case(qapp, Path(tempfile.mkdtemp(prefix="almc-shots-")), own_disks=False)
    session = case.acq / "alice" / "2026-12-03 screen"
    files = dataset_samples.session(session, corpus)
    old = time.time() - 3600
    for path in session.rglob("*"):
        os.utime(path, (old, old))

    def shot(widget: Any, name: str) -> None:
        case.settle(0.6)
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        print(path)

    wizard = case.wizard()
    case.settle(until=lambda: len(wizard.files_page.model) > 300)
    shot(wizard, "wizard-datasets-files")
    wizard.button(QWizard.WizardButton.NextButton).click()
    case.settle()
    shot(wizard, "wizard-datasets-fix")
    wizard.hide()

    transfer = case.controller.show_transfer()
    transfer.resize(1180, 640)
    transfer.add_paths([str(session)])
    case.settle(
        until=lambda: (
            transfer.files.summary(str(files["plate"])) is not None
            and transfer.files.summary(str(files["plate"])).kind != ""
            and all(r.reasons for r in transfer.files.rows())
        )
    )
    view = transfer.file_view
    first = transfer.files.index(0, 0)
    view.selectionModel().select(
        first,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    view.setCurrentIndex(first)
    shot(transfer, "transfer-datasets")
    plate = transfer.files.group_index(str(files["plate"]))
    view.setExpanded(plate, True)
    view.selectionModel().select(
        plate,
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    shot(transfer, "transfer-datasets-open")
    case.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "almc-datasets")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    args = parser.parse_args()
    corpus = args.corpus if (args.corpus / "CATALOG.tsv").is_file() else None
    xvfb = None
    if "DISPLAY" not in os.environ:
        from bench.screenshots import start_display

        xvfb = start_display(":97")
        os.environ["DISPLAY"] = ":97"
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    os.environ["ALMC_HOME"] = tempfile.mkdtemp(prefix="almc-shots-home-")
    try:
        return run(args.out, corpus)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()


if __name__ == "__main__":
    sys.exit(main())
