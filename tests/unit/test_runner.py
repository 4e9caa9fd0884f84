"""The runner on real programs: a program in its own session that a Ctrl-C hit at spawn time
is run once more; one outside a session is not, and a program that keeps dying still fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.errors import ToolFailedError
from conveyor.runner import Runner

ONCE = 'if [ ! -e "$1" ]; then : > "$1"; kill -{signal} $$; fi; echo ran'


@pytest.mark.parametrize("name", ["INT", "TERM"])
def test_a_session_program_killed_by_a_group_signal_is_run_once_more(
    tmp_path: Path, name: str
) -> None:
    marker = tmp_path / "first-run"
    done = Runner().run(["sh", "-c", ONCE.format(signal=name), "sh", str(marker)], new_session=True)
    assert marker.is_file()
    assert done.stdout.strip() == "ran"


def test_outside_its_own_session_a_signalled_program_fails(tmp_path: Path) -> None:
    marker = tmp_path / "first-run"
    with pytest.raises(ToolFailedError, match="exited -2"):
        Runner().run(["sh", "-c", ONCE.format(signal="INT"), "sh", str(marker)])


def test_a_program_that_dies_each_time_still_fails(tmp_path: Path) -> None:
    with pytest.raises(ToolFailedError, match="exited -15"):
        Runner().run(["sh", "-c", "kill -TERM $$"], new_session=True)
