"""Verdicts are defined once (core.verdicts): values, order, labels, what needs fixing."""

from __future__ import annotations

from almc_assistant.core.cleanup import BLOCKING_VERDICTS
from almc_assistant.core.inspect.wording import NEXT_STEP
from almc_assistant.core.verdicts import NEEDS_FIXING, ORDER, Tone, Verdict, parse


def test_every_verdict_has_a_label_a_tone_and_a_place_in_the_order() -> None:
    assert sorted(ORDER) == sorted(Verdict) and len(set(ORDER)) == len(Verdict)
    assert [v.severity for v in ORDER] == sorted(v.severity for v in Verdict)
    for v in Verdict:
        assert v.label and v.label != str(v) and isinstance(v.tone, Tone)
        assert v.is_ok is (v.tone is Tone.OK)
    assert ORDER[0] is Verdict.NATIVE_OK and ORDER[-1] is Verdict.NATIVE_DAMAGED


def test_what_needs_fixing_follows_from_the_verdicts() -> None:
    exports = {v for v in Verdict if v.is_export}
    assert exports == {
        Verdict.TIFF_COMPRESSED_LOSSLESS,
        Verdict.TIFF_COMPRESSED_LOSSY,
        Verdict.LOSSY_FORMAT,
        Verdict.OTHER_FORMAT,
    }
    assert exports | {v for v in Verdict if v.blocks_deletion} == NEEDS_FIXING
    assert not any(v.is_ok for v in NEEDS_FIXING)
    assert "empty" in NEEDS_FIXING  # the catalog stores plain strings


def test_cleanup_names_a_reason_for_every_verdict_that_blocks_deletion() -> None:
    assert set(BLOCKING_VERDICTS) == {v for v in Verdict if v.blocks_deletion}


def test_every_verdict_has_a_next_step() -> None:
    assert set(NEXT_STEP) >= set(Verdict)


def test_a_stored_string_no_verdict_has_parses_as_none() -> None:
    assert parse("tiff-damaged") is Verdict.TIFF_DAMAGED
    assert parse("from-a-newer-version") is None and parse(None) is None
