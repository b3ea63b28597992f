"""Judge a multi-file dataset as one, from its layout and its members' checks.

Thread contract: pure function on values; safe anywhere.

A dataset is as good as its worst image file; metadata files (index XML, thumbnails, YAML)
do not lower it. Files the layout needs but that are missing make it damaged. Native
datasets (OIF, VSI, SLDY, OIR, CZI, LIF) are native-ok when complete and undamaged.
"""

from __future__ import annotations

from collections.abc import Mapping

from almc_assistant.core.inspect import datasets, wording
from almc_assistant.core.inspect.model import DatasetCheck, FileCheck, Flag
from almc_assistant.core.verdicts import Verdict

_TIFF_KINDS = frozenset({datasets.HARMONY, datasets.MMSTACK})
_NOT_IMAGES = frozenset({Verdict.OTHER_FORMAT, Verdict.EMPTY, Verdict.DATASET_METADATA})
_BROKEN = frozenset({Verdict.NATIVE_DAMAGED, Verdict.TIFF_DAMAGED, Verdict.UNREADABLE})


def judge(layout: datasets.Layout, checks: Mapping[str, FileCheck]) -> DatasetCheck:
    members = [checks[str(p)] for p in layout.members if str(p) in checks]
    images = [c for c in members if c.verdict not in _NOT_IMAGES]
    flags = set().union(*(c.flags for c in members)) - {Flag.DATASET_MEMBER}
    reasons: list[str] = list(layout.notes)
    tiff_kind = layout.kind in _TIFF_KINDS
    damaged = Verdict.TIFF_DAMAGED if tiff_kind else Verdict.NATIVE_DAMAGED
    if layout.missing:
        names = ", ".join(p.name for p in layout.missing[:3])
        more = f" and {len(layout.missing) - 3:,} more" if len(layout.missing) > 3 else ""
        reasons.insert(
            0,
            f"{len(layout.missing):,} file(s) this {layout.kind} needs are missing or empty: "
            f"{names}{more}. Without them the dataset is incomplete.",
        )
        verdict = damaged
    elif any(c.verdict in _BROKEN for c in images):
        broken = [c for c in images if c.verdict in _BROKEN]
        reasons.insert(
            0,
            f"{len(broken):,} of its files are damaged or unreadable, e.g. {broken[0].path.name}.",
        )
        verdict = damaged
    elif layout.kind == datasets.ND2_SERIES and members:
        # every member is a whole ND2 of its own: the series is as good as its worst
        verdict = max((c.verdict for c in members), key=lambda v: v.severity)
        if verdict is Verdict.NATIVE_OK:
            reasons.insert(0, f"An {layout.kind} of {len(members):,} files, each one complete.")
        else:
            worst = [c for c in members if c.verdict is verdict]
            reasons.insert(
                0,
                f"An {layout.kind} of {len(members):,} files; {len(worst):,} of them "
                f"{'is' if len(worst) == 1 else 'are'} {verdict}, e.g. {worst[0].path.name}.",
            )
    elif not tiff_kind:
        verdict = Verdict.NATIVE_OK
        reasons.insert(0, f"A complete {layout.kind}: every part it needs is present.")
    elif not images:
        verdict = Verdict.OTHER_FORMAT
        reasons.insert(0, "It contains no image files.")
    else:
        verdict = max((c.verdict for c in images), key=lambda v: v.severity)
        reasons.insert(0, _tiff_summary(layout, images, verdict))
        codes = {str(c.details.get("compression_kinds")) for c in images}
        if len(codes) > 1:
            flags.add(Flag.MIXED_COMPRESSION)
        dtypes = {c.details.get("dtype") for c in images}
        if len(dtypes) > 1:
            reasons.append(
                "Its images do not all have the same pixel type "
                f"({', '.join(sorted(str(d) for d in dtypes))}): some may have been processed "
                "or converted (Harmony's 32-bit planes are known to be invalid)."
            )
    return DatasetCheck(
        id=layout.id,
        kind=layout.kind,
        anchor=layout.anchor,
        members=layout.members,
        missing=layout.missing,
        verdict=verdict,
        reasons=tuple(reasons)
        + tuple(wording.FLAG_TEXT[f].format(codecs="several") for f in sorted(flags)),
        next_step=wording.NEXT_STEP[verdict],
        flags=frozenset(flags),
    )


def _tiff_summary(layout: datasets.Layout, images: list[FileCheck], verdict: Verdict) -> str:
    counts: dict[Verdict, int] = {}
    for c in images:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    parts = ", ".join(
        f"{n:,} {v}" for v, n in sorted(counts.items(), key=lambda kv: kv[0].severity)
    )
    return (
        f"A complete {layout.kind} with {len(images):,} image files ({parts}); judged as {verdict}."
    )
