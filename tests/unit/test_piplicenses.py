"""pip-licenses adapter: argv and JSON parsing (real runs: tests/integration)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conveyor.errors import ToolFailedError
from conveyor.tools.piplicenses import PackageLicense, parse_report, piplicenses_argv


def test_argv_restricts_to_the_given_packages() -> None:
    argv = piplicenses_argv(["rich", "pyyaml"], Path("out.json"))
    assert argv[:5] == [
        "pip-licenses",
        "--from=mixed",
        "--format=json",
        "--with-urls",
        "--output-file=out.json",
    ]
    assert argv[5:] == ["--packages", "rich", "pyyaml"]


def test_listing_becomes_records() -> None:
    text = json.dumps(
        [
            {"License": "MIT", "Name": "rich", "URL": "https://x", "Version": "15.0.0"},
            {"License": "UNKNOWN", "Name": "odd", "Version": "1"},
        ]
    )
    assert parse_report(text) == [
        PackageLicense("rich", "15.0.0", "MIT", "https://x"),
        PackageLicense("odd", "1", "UNKNOWN", ""),
    ]


@pytest.mark.parametrize("text", ["", "[{}]", "[1]"])
def test_unreadable_output_is_a_tool_failure(text: str) -> None:
    with pytest.raises(ToolFailedError, match="pip-licenses: unreadable JSON"):
        parse_report(text)
