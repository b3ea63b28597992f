"""A short run of the cleanup model (``model.py``); ``bench/model_cleanup.py`` runs long."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.core.cleanup.model import CleanupModel


@pytest.mark.timeout(240)
def test_no_byte_of_user_data_disappears() -> None:
    run_state_machine_as_test(
        CleanupModel,
        settings=settings(
            max_examples=30,
            stateful_step_count=30,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
