"""The README's `[tool.conveyor]` example is valid configuration (docs that cannot rot)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from conveyor.config import settings_from_table

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_configuration_example_validates() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    example = next(block for block in blocks if "[tool.conveyor]" in block)
    table = tomllib.loads(example)["tool"]["conveyor"]
    settings = settings_from_table(table, README)
    assert settings.coverage_fail_under == 90
    assert settings.deploy.environments["production"].confirm is True
    assert settings.security.ignore["36546"].reason
