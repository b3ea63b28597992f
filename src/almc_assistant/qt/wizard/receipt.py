"""The receipt of a session-end backup, as HTML (shown, saved, printed) and plain text.

Thread contract: pure functions over the wizard's state.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict

from almc_assistant.core.transfer.events import READ_BACK_FROM_STORAGE
from almc_assistant.qt import humanize
from almc_assistant.qt.wizard.state import WizardState


def _e(text: object) -> str:
    return html.escape(str(text))


def receipt_html(state: WizardState, shortfall: str, *, now: dt.datetime | None = None) -> str:
    """What went where, verified how, manifests and receipts, what is still not safe."""
    now = now or dt.datetime.now()
    summary = state.summary
    out = [f"<h2>Backup receipt — {_e(humanize.date(now))}, {now:%H:%M}</h2>"]
    by_root: dict[str, list[int]] = defaultdict(list)  # root -> sizes
    for root, size, _read_back in (*state.verified, *state.skipped):
        by_root[root].append(size)
    if by_root:
        out.append("<h3>Copied and verified</h3><ul>")
        for root, sizes in by_root.items():
            out.append(
                f"<li><b>{_e(root)}</b>: {humanize.count(len(sizes), 'file')} "
                f"({_e(humanize.size(sum(sizes)))})</li>"
            )
        out.append("</ul>")
    evicted = all(
        read_back in ("", *READ_BACK_FROM_STORAGE) for _r, _s, read_back in state.verified
    )
    out.append(
        "<p><b>How it was verified:</b> each copy was written under a hidden name, flushed "
        "to the storage, "
        + (
            "evicted from the cache and read back from the storage"
            if evicted
            else "read back (this platform could not evict the cache, so some reads may "
            "have come from memory)"
        )
        + "; its BLAKE3 hash matched the source's before it got its final name.</p>"
    )
    if summary is not None and (summary.manifests or summary.receipts):
        out.append("<h3>Manifests and receipts</h3><ul>")
        for path in (*summary.manifests, *summary.receipts):
            out.append(f"<li>{_e(path)}</li>")
        out.append(
            "</ul><p>A manifest lists every file with its BLAKE3 hash; "
            "<tt>b3sum --check</tt> or <tt>almc-assistant verify</tt> re-checks it.</p>"
        )
    out.extend(_not_safe(state, shortfall))
    return "".join(out)


def _not_safe(state: WizardState, shortfall: str) -> list[str]:
    lines = []
    for event in state.failed:
        name = getattr(getattr(event, "source", None), "name", "") or str(event.destination_root)
        lines.append(f"<li>{_e(name)}: {_e(event.title)}. {_e(event.next_step)}</li>")
    for record in state.acquiring_files():
        lines.append(f"<li>{_e(record.path.name)}: still being acquired, not copied yet.</li>")
    if state.summary is not None and state.summary.state == "cancelled":
        lines.append("<li>The copy was cancelled: files it had not finished are not copied.</li>")
    if shortfall:
        lines.append(f"<li>Under the facility's policy your data {_e(shortfall)}.</li>")
    if not lines:
        return ["<h3>✓ Everything from this session is safe</h3>"]
    return ["<h3>Still not safe</h3><ul>", *lines, "</ul>"]
