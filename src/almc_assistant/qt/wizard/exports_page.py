"""Wizard page 2, "Files to look at": compressed, lossy or damaged files in plain words,
by dataset (a plate with 12 compressed tiles is one row, its metadata is not listed: it
is part of its dataset, not an export).

Thread contract: GUI thread only; no I/O. The user may go back and fix the exports first
(the wizard can be closed and opened again) or go on knowingly (a checkbox they tick).
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QLabel, QVBoxLayout, QWizardPage

from almc_assistant.qt import humanize
from almc_assistant.qt.table_model import Column
from almc_assistant.qt.tree_view import make_tree
from almc_assistant.qt.wizard import dataset_list
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


FIX_COLUMNS: tuple[Column[dataset_list.Item], ...] = (
    dataset_list.NAME,
    dataset_list.FOLDER,
    dataset_list.check_column("Problem"),
    Column("What to do", dataset_list.next_step, tooltip=dataset_list.next_step),
)


class ExportsPage(QWizardPage):
    def __init__(self, state: WizardState) -> None:
        super().__init__()
        self._state = state
        self.setTitle("Files to look at")
        self.model = dataset_list.RecordsByDataset(state, FIX_COLUMNS, self).model
        self.view = make_tree(
            self.model,
            fit={
                0: "HeLa_DAPI_GFP_000.tif",
                1: "…/session/plate1",
                2: "Compressed TIFF (lossless)",
            },
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
            f"{humanize.count(len(to_fix), 'file')} may not be what you want to keep: "
            "exports that are compressed or lossy, files damaged, empty or unreadable. "
            "You can fix them first, or go on knowingly."
        )
        self.go_on.setChecked(False)

    def isComplete(self) -> bool:
        return self.go_on.isChecked()
