"""Where the handle-based delete is missing (Windows: no ``openat``/``unlinkat`` without
following links), cleanup lists but deletes nothing, and says why for each file. Real
catalog, real files; runs in the Windows lane (skips where handles exist)."""

from __future__ import annotations

from pathlib import Path

import pytest

from almc_assistant.core import handles
from almc_assistant.core.catalog import Catalog
from almc_assistant.core.cleanup.apply import UNSUPPORTED, apply_cleanup
from almc_assistant.core.cleanup.plan import Action, CleanupItem, CleanupPlan
from almc_assistant.core.config import PolicySettings
from almc_assistant.core.destinations import Destination, DestinationKind
from almc_assistant.core.evidence import EvidenceRules
from almc_assistant.core.policy import Policy
from tests.core.catalog.test_catalog_identity import acquired, any_copy, copy_of, seen


@pytest.mark.skipif(handles.supported(), reason="this system deletes through checked handles")
def test_without_handles_nothing_is_deleted_and_the_reason_is_given(tmp_path: Path) -> None:
    f = acquired(tmp_path / "acq" / "a.nd2", b"a" * 4096)
    dest = Destination("NAS", tmp_path / "bit", DestinationKind.INSTITUTIONAL)
    with Catalog(tmp_path / "c.sqlite3", safety=any_copy) as cat:
        seen(cat, f)
        cat.record_copy(copy_of(f, tmp_path / "bit" / "a.nd2"), owner="ann")
        rec = cat.file(f)
        assert rec is not None
        plan = CleanupPlan(1.0, (CleanupItem(rec, Action.DELETE, "safe and old", 1.0),))
        result = apply_cleanup(
            plan,
            cat,
            policy=Policy(PolicySettings(), [dest], acquisition_roots=[tmp_path / "acq"]),
            rules=EvidenceRules(catalog_owner_uid=None),
            acquisition_roots=[tmp_path / "acq"],
            audit_log=tmp_path / "audit.log",
            user="ann",
        )
    (outcome,) = result.outcomes
    assert not outcome.deleted and outcome.reason == UNSUPPORTED and outcome.path == f
    assert f.read_bytes() == b"a" * 4096
