"""The ``--json`` document: valid JSON equal to what ``json.dumps`` gives, laid out one
entry per line at the top two levels, a list's rows each on one line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from almc_assistant.cli._common import print_json

DOCS: list[Any] = [
    {
        "ok": True,
        "none": [],
        "empty": {},
        "rows": [{"source": Path("/a/b"), "size": 3, "name": 'é\n"x"'}, {"y": [1, [2]]}],
        "summary": {"files": 2, "nested": {"deep": {"deeper": None}}},
        "numbers": (1, 2.5),
    },
    [],
    {},
    3,
    "text",
    [1, [2, [3]]],
    {1: "int key", "b": "str key"},
]


@pytest.mark.parametrize("doc", DOCS)
def test_the_document_is_what_json_dumps_says(doc: Any) -> None:
    out = io.StringIO()
    print_json(doc, out)
    text = out.getvalue()
    assert text.endswith("\n")
    assert json.loads(text) == json.loads(json.dumps(doc, default=str, ensure_ascii=False))


def test_each_row_of_a_list_is_one_line() -> None:
    out = io.StringIO()
    rows = [{"source": f"/src/{i}", "blake3": "ab" * 32} for i in range(3)]
    print_json({"ok": True, "verified": rows, "summary": {"files": 3}}, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "{" and lines[-1] == "}"
    assert '  "ok": true,' in lines and '    "files": 3' in lines
    assert [json.loads(line.strip().rstrip(",")) for line in lines[3:6]] == rows
