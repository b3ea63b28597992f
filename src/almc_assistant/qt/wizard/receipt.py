"""The receipt of a session-end backup, as HTML (shown, saved, printed).

Thread contract: pure functions over the wizard's state.

One truth for "safe": :func:`not_safe` lists everything of the session that is not safe,
in plain words (refused, failed, skipped, cancelled, still being written, pending upload,
not enough under the facility's policy, or not known); the receipt and the page's subtitle
both say "safe" only when that list is empty. The receipt says what was verified where,
names every copy that got another name than its source's, and lists each dataset (a
plate, an ND2 series) with its files.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path, PurePath

from almc_assistant.core.destinations import DestinationKind
from almc_assistant.core.inspect.units import DatasetUnit
from almc_assistant.core.remotepaths import recorded_path
from almc_assistant.core.transfer.events import (
    READ_BACK_FROM_STORAGE,
    READ_BACK_IN_MEMORY,
    CopyFailed,
    CopySkipped,
    DestinationRefused,
    SourceSkipped,
)
from almc_assistant.core.units import human_size
from almc_assistant.qt import humanize
from almc_assistant.qt.wizard.state import CopyProblem, WizardState, engine_roots

MAX_NAMES = 20  # files named one by one in a list; the rest are counted


def _e(text: object) -> str:
    return html.escape(str(text))


def _norm(path: object) -> str:
    return os.path.normpath(str(path))


def _names(paths: Iterable[str]) -> str:
    """File names, or whole paths where two files share a name (plates' tiles)."""
    paths = sorted(paths)
    names = [Path(p).name for p in paths]
    whole = len(set(names)) < len(names)
    shown = ", ".join(_e(p if whole else Path(p).name) for p in paths[:MAX_NAMES])
    more = len(paths) - MAX_NAMES
    return shown + (f" and {more:,} more" if more > 0 else "")


def _pending_roots(state: WizardState) -> dict[str, str]:
    """Chosen destinations whose copies wait for a sync client: root -> name."""
    return {
        root: str(d.name)
        for root, d in zip(engine_roots(state.destinations), state.destinations, strict=True)
        if d.kind is DestinationKind.CLOUD_SYNC
    }


def _uncovered(state: WizardState) -> list[str]:
    """Files of this backup without a verified copy on every chosen destination."""
    wanted = set(engine_roots(state.destinations))
    have: dict[str, set[str]] = defaultdict(set)
    for root, _size, _read_back, source, _renamed in (*state.verified, *state.skipped):
        have[_norm(source)].add(_norm(root))
    return [str(s) for s in state.sources() if not wanted <= have[_norm(s)]]


def _problem(event: CopyProblem) -> str:
    """One line for a ``CopyFailed``, ``DestinationRefused``, ``SourceSkipped`` or a
    ``CopySkipped`` other than "already verified"."""
    source = None if isinstance(event, DestinationRefused) else event.source
    where: PurePath | None = None
    if isinstance(event, CopyFailed | DestinationRefused):
        where = event.destination_root
    elif isinstance(event, CopySkipped):
        where = event.destination
    head = " → ".join(_e(x) for x in (source, where) if x is not None)
    if isinstance(event, CopySkipped | SourceSkipped):  # skipped: a reason only
        return f"<li>{head}: not copied: {_e(event.reason)}.</li>"
    return f"<li>{head}: {_e(event.title)}. {_e(event.detail)} {_e(event.next_step)}</li>"


def not_safe(state: WizardState) -> list[str]:
    """Everything of this session that is not safe, as HTML list items (see module)."""
    summary = state.summary
    lines: list[str] = []
    if summary is None:
        lines.append("<li>The copy did not run: nothing of this session was copied.</li>")
    elif summary.error_title:
        what = "The copy was refused" if summary.state == "refused" else "The copy stopped"
        lines.append(
            f"<li><b>{what}: {_e(summary.error_title)}.</b> "
            f"{_e(summary.error_detail)} {_e(summary.error_next_step)}</li>"
        )
    elif summary.state == "cancelled":
        lines.append("<li>The copy was cancelled before it had finished.</li>")
    lines.extend(_problem(event) for event in state.failed)
    skipped_sources = sum(1 for e in state.failed if isinstance(e, SourceSkipped))
    if summary is not None and summary.sources_skipped > skipped_sources:  # not each told
        lines.append(
            f"<li>{humanize.count(summary.sources_skipped, 'item')} in the sources "
            "(links or special files) not copied.</li>"
        )
    uncovered = _uncovered(state)
    if uncovered:
        lines.append(
            f"<li>{humanize.count(len(uncovered), 'file')} without a verified copy on every "
            f"destination chosen: {_names(uncovered)}.</li>"
        )
    acquiring = [str(f.path) for f in state.acquiring_files()]
    if acquiring:
        it = "them" if len(acquiring) > 1 else "it"
        lines.append(
            f"<li>Still being written when this backup started, so not copied: "
            f"{_names(acquiring)}. Back {it} up in a later session once acquisition has "
            "finished.</li>"
        )
    pending = _pending_roots(state)
    copied = {_norm(root) for root, *_ in state.verified}
    for root in sorted(set(pending) & copied):
        lines.append(
            f"<li>The copies on {_e(pending[root])} ({_e(root)}) are pending upload: the "
            "sync client has not necessarily uploaded them yet, so they do not make your "
            "data safe on their own.</li>"
        )
    lines.extend(_policy_lines(state, nothing_copied=not (state.verified or state.skipped)))
    return lines


def _policy_lines(state: WizardState, *, nothing_copied: bool) -> list[str]:
    safety = state.safety
    if nothing_copied:
        return []  # said above; the policy's words about copies would mislead
    if safety is None:
        return [
            "<li>Whether these copies are enough under the facility's policy is not known.</li>"
        ]
    if safety.safe:
        return []
    counted = ", ".join(safety.counted) or "none of the destinations"
    why = "".join(f" Not counted: {_e(w)}." for w in safety.not_counted)
    return [
        f"<li>Not enough under the facility's policy, which asks for "
        f"{_e(safety.requirement)}. Copies that count: {_e(counted)}.{why} Make another "
        "copy soon.</li>"
    ]


def receipt_html(state: WizardState, *, now: dt.datetime | None = None) -> str:
    """What went where, verified how, names changed, manifests, and what is not safe."""
    now = now or dt.datetime.now()
    summary = state.summary
    problems = not_safe(state)
    out = [f"<h2>Backup receipt — {_e(humanize.date(now))}, {now:%H:%M}</h2>"]
    if not problems:
        out.append("<h3>✓ Everything from this session is safe</h3>")
    elif not (state.verified or state.skipped):
        out.append("<h3>⚠ Nothing from this session was backed up: see below</h3>")
    else:
        out.append("<h3>⚠ Not everything from this session is safe yet: see below</h3>")
    out.extend(_copied(state))
    out.extend(_datasets(state))
    renamed = [
        (source, root, new)
        for root, _s, _r, source, new in (*state.verified, *state.skipped)
        if new
    ]
    if renamed:
        out.append(
            "<h3>Stored under another name</h3><p>A different file already had the name at "
            "the destination; nothing was overwritten.</p><ul>"
        )
        for source, root, new in renamed:
            out.append(f"<li>{_e(source)} → {_e(recorded_path(root) / new)}</li>")
        out.append("</ul>")
    if summary is not None and (summary.manifests or summary.receipts):
        out.append("<h3>Manifests and receipts</h3><ul>")
        for path in (*summary.manifests, *summary.receipts):
            out.append(f"<li>{_e(path)}</li>")
        out.append(
            "</ul><p>A manifest lists every file with its BLAKE3 hash; "
            "<tt>b3sum --check</tt> or <tt>almc-assistant verify</tt> re-checks it.</p>"
        )
    if problems:
        out.extend(["<h3>Not safe yet</h3><ul>", *problems, "</ul>"])
    return "".join(out)


def _datasets(state: WizardState) -> list[str]:
    """Each dataset of this backup (a plate, an ND2 series) with its files, and whether
    every one of them has a verified copy on every destination chosen."""
    members: dict[str, list[str]] = defaultdict(list)
    units: dict[str, DatasetUnit] = {}
    for source in state.sources():
        unit = state.datasets.get(str(source))
        if unit is not None:
            members[unit.id].append(str(source))
            units[unit.id] = unit
    if not members:
        return []
    uncovered = {_norm(p) for p in _uncovered(state)}
    out = ["<h3>Datasets</h3><ul>"]
    for key, paths in members.items():
        unit = units[key]
        missing = [p for p in paths if _norm(p) in uncovered]
        verdict = (
            f"not all copied: {len(missing):,} without a verified copy on every destination"
            if missing
            else "every file copied and verified"
        )
        out.append(
            f"<li><b>{_e(unit.label)}</b> — {_e(unit.kind)}, in {_e(unit.folder)}: "
            f"{humanize.count(len(paths), 'file')}, {verdict}. Files: {_names(paths)}</li>"
        )
    out.append("</ul>")
    return out


def _copied(state: WizardState) -> list[str]:
    verified: dict[str, list[int]] = defaultdict(list)
    already: dict[str, list[int]] = defaultdict(list)
    for root, size, *_ in state.verified:
        verified[root].append(size)
    for root, size, *_ in state.skipped:
        already[root].append(size)
    if not verified and not already:
        return ["<h3>Copied and verified</h3><p>Nothing was copied.</p>"]
    roots = engine_roots(state.destinations)
    names = {root: str(d.name) for root, d in zip(roots, state.destinations, strict=True)}
    remotes = {_norm(d.remote) for d in state.destinations if d.remote}
    proofs: dict[str, set[str]] = defaultdict(set)  # a remote's proof words, per root
    for root, _size, read_back, *_ in state.verified:
        if _norm(root) in remotes:
            proofs[_norm(root)].add(read_back)
    pending = _pending_roots(state)
    out = ["<h3>Copied and verified</h3><ul>"]
    for root in dict.fromkeys([*verified, *already]):
        parts = []
        if sizes := verified.get(root):
            how = (
                "uploaded and proven ({})".format("; ".join(sorted(proofs[_norm(root)])))
                if _norm(root) in remotes
                else "copied, read back and matched"
            )
            parts.append(
                f"{humanize.count(len(sizes), 'file')} ({_e(human_size(sum(sizes)))}) {_e(how)}"
            )
        if sizes := already.get(root):
            parts.append(f"{humanize.count(len(sizes), 'file')} already there, verified before")
        label = f"{_e(names[_norm(root)])}, " if _norm(root) in names else ""
        note = " <i>(pending upload: not safe yet)</i>" if _norm(root) in pending else ""
        out.append(f"<li>{label}<b>{_e(root)}</b>: {'; '.join(parts)}{note}</li>")
    out.append("</ul>")
    local = [n for n in state.verified if _norm(n[0]) not in remotes]
    if local:
        methods = {read_back for _r, _s, read_back, *_ in local}
        evicted = methods <= {"", *READ_BACK_FROM_STORAGE}
        out.append(
            "<p><b>How it was verified:</b> each copy was written under a hidden name, "
            "flushed to the storage, "
            + (
                (
                    "evicted from the cache and read back from the storage"
                    + (
                        " (a copy on a file system held in memory, such as a tmpfs, was "
                        "re-read from that memory, its only storage)"
                        if READ_BACK_IN_MEMORY in methods
                        else ""
                    )
                )
                if evicted
                else "read back (this platform could not evict the cache, so some reads "
                "may have come from memory)"
            )
            + "; its BLAKE3 hash matched the source's before it got its final name.</p>"
        )
    if proofs:
        out.append(
            "<p><b>How remote copies were verified:</b> each was uploaded under a hidden "
            "name and proven by what the storage can tell (named above for each "
            "destination) before it got its final name; a copy that could not be proven "
            "is not listed here.</p>"
        )
    return out
