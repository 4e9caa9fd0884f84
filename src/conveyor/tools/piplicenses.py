"""pip-licenses adapter: argv for a JSON listing of chosen packages, parsed into records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import ToolFailedError


@dataclass(frozen=True)
class PackageLicense:
    """One installed distribution and the license it declares."""

    name: str
    version: str
    license: str
    url: str


def piplicenses_argv(packages: Sequence[str], output: Path) -> list[str]:
    """pip-licenses over `packages` only (metadata and classifiers), JSON with URLs."""
    return [
        "pip-licenses",
        "--from=mixed",
        "--format=json",
        "--with-urls",
        f"--output-file={output}",
        "--packages",
        *packages,
    ]


def parse_report(text: str) -> list[PackageLicense]:
    """Records from pip-licenses' JSON list."""
    try:
        return [
            PackageLicense(
                name=str(item["Name"]),
                version=str(item["Version"]),
                license=str(item["License"]),
                url=str(item.get("URL", "")),
            )
            for item in json.loads(text)
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"pip-licenses: unreadable JSON ({exc.__class__.__name__}: {exc})",
            hint="run pip-licenses --format=json by hand to see what it printed",
        ) from None
