"""The logout decision: never veto a forced end, veto only data at risk, policy wins."""

from __future__ import annotations

import itertools

import pytest

from almc_assistant.core.session_end import (
    EndKind,
    PendingSummary,
    SessionEndPolicy,
    SessionEndRequest,
    decide,
)

AT_RISK = PendingSummary(files=3, bytes=12_400_000_000, oldest=0.0)
SAFE = PendingSummary()


@pytest.mark.parametrize(("kind", "can_veto"), list(itertools.product(EndKind, [True, False])))
def test_nothing_at_risk_never_vetoes(kind: EndKind, can_veto: bool) -> None:
    d = decide(SessionEndRequest(kind, "win32", can_veto), SAFE, SessionEndPolicy())
    assert d.allow and d.reason == ""


@pytest.mark.parametrize("kind", [EndKind.FORCED, EndKind.CLOSE_APP])
def test_forced_ends_and_the_restart_manager_are_never_vetoed(kind: EndKind) -> None:
    d = decide(SessionEndRequest(kind, "win32"), AT_RISK, SessionEndPolicy())
    assert not d.veto
    assert d.reason == "3 files (12.4 GB) are not backed up yet"  # still logged and shown


@pytest.mark.parametrize("kind", [EndKind.LOGOFF, EndKind.SHUTDOWN_OR_RESTART, EndKind.UNKNOWN])
def test_a_request_that_cannot_be_vetoed_is_not(kind: EndKind) -> None:
    d = decide(SessionEndRequest(kind, "linux", can_veto=False), AT_RISK, SessionEndPolicy())
    assert not d.veto


@pytest.mark.parametrize("kind", [EndKind.LOGOFF, EndKind.SHUTDOWN_OR_RESTART, EndKind.UNKNOWN])
def test_data_at_risk_holds_up_an_ordinary_end(kind: EndKind) -> None:
    d = decide(SessionEndRequest(kind, "win32"), AT_RISK, SessionEndPolicy())
    assert d.veto
    assert d.reason == "3 files (12.4 GB) are not backed up yet"


def test_the_facility_may_exempt_each_kind() -> None:
    policy = SessionEndPolicy(veto_logoff=False, veto_shutdown=True, veto_unknown=False)
    got = {k: decide(SessionEndRequest(k, "win32"), AT_RISK, policy).veto for k in EndKind}
    assert got == {
        EndKind.LOGOFF: False,
        EndKind.SHUTDOWN_OR_RESTART: True,
        EndKind.CLOSE_APP: False,
        EndKind.FORCED: False,
        EndKind.UNKNOWN: False,
    }
