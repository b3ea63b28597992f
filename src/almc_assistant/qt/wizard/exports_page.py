"""Wizard page 2, "Exports to fix": compressed, lossy or damaged files in plain words.

Thread contract: GUI thread only; no I/O. The user may go back and fix the exports first
(the wizard can be closed and opened again) or go on knowingly (a checkbox they tick).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWizardPage

from almc_assistant.core.inspect.wording import NEXT_STEP
from almc_assistant.core.verdicts import Verdict
from almc_assistant.qt import humanize, icons, verdicts
from almc_assistant.qt.table_model import Column, SnapshotTableModel
from almc_assistant.qt.table_view import make_table
from almc_assistant.qt.wizard.state import WizardState

WHY_IT_MATTERS = (
    "<p><b>Why it matters.</b> Measurements (intensities, colocalisation, deconvolution, "
    "counting) need the pixel values the camera recorded. <b>Lossy</b> compression "
    "(JPEG and similar) changes those values for good: such files are fine for slides, "
    "not for analysis. <b>Lossless</b> compression (LZW, Deflate, ...) keeps the values, "
    "but the facility asks for uncompressed TIFF so every program reads them the same "
    "way. Damaged files may be missing frames.</p>"
    "<p><b>How to fix an export.</b> Keep the native file (for example the .nd2) and "
    "export again from it: in NIS-Elements choose <i>File › Export</i>, format "
    "<i>TIFF</i>, compression <i>None</i>, keep the original bit depth (16-bit) and "
    "do not burn in look-up tables; in Fiji, <i>File › Save As › Tiff…</i> writes "
    "uncompressed TIFF. Then run this again.</p>"
)


def _next_step(record: Any) -> str:
    try:
        return NEXT_STEP[Verdict(record.verdict)]
    except (ValueError, KeyError):
        return ""


FIX_COLUMNS: tuple[Column[Any], ...] = (
    Column("File", lambda r: r.path.name, tooltip=lambda r: str(r.path)),
    Column(
        "Problem",
        lambda r: verdicts.look(r.verdict).label,
        icon=lambda r: icons.badge_icon(verdicts.look(r.verdict).badge),
        tooltip=lambda r: "\n".join(getattr(r, "verdict_reasons", ()) or ()),
    ),
    Column("What to do", _next_step, tooltip=_next_step),
)


class ExportsPage(QWizardPage):
    def __init__(self, state: WizardState) -> None:
        super().__init__()
        self._state = state
        self.setTitle("Exports to fix")
        self.model: SnapshotTableModel[Any] = SnapshotTableModel(
            FIX_COLUMNS, key=lambda r: str(r.path), parent=self
        )
        self.view = make_table(
            self.model, fit={0: "HeLa_DAPI_GFP_000.tif", 1: "Compressed TIFF (lossless)"}
        )
        self.explanation = QLabel(WHY_IT_MATTERS)
        self.explanation.setWordWrap(True)
        self.go_on = QCheckBox(
            "I understand; back these files up as they are (I keep the native data)"
        )
        self.go_on.toggled.connect(self.completeChanged)
        layout = QVBoxLayout(self)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.explanation)
        layout.addWidget(self.go_on)

    def initializePage(self) -> None:
        to_fix = self._state.to_fix()
        self.model.replace_all(to_fix)
        self.setSubTitle(
            f"{humanize.count(len(to_fix), 'file')} may not be what you want to keep. "
            "You can fix them first, or go on knowingly."
        )
        self.go_on.setChecked(False)

    def isComplete(self) -> bool:
        return self.go_on.isChecked()
