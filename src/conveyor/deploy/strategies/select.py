"""Which strategy a target uses: its environment's `strategy`, else the deploy table's."""

from __future__ import annotations

from collections.abc import Callable

from conveyor.deploy.strategies import Strategy
from conveyor.deploy.strategies.blue_green import BlueGreen
from conveyor.deploy.strategies.in_place import InPlace
from conveyor.deploy.target import Target
from conveyor.tools.compose import Compose


def strategy_for(
    target: Target, compose: Compose, say: Callable[[str], None] = lambda line: None
) -> Strategy:
    """The strategy the target's environment chose (in-place unless it chose otherwise)."""
    if target.strategy == "blue-green":
        return BlueGreen(compose, target.settings.blue_green, say=say)
    return InPlace(compose)
