"""Version tags name releases: one that would move to another image ID needs `--force`.

Movable tags (`<sha>`, `<sha>-dirty`, `latest`) follow each build; a pinned tag such as
`:1.0.0` is only added where it is new or already points at the same image.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conveyor.errors import GateFailedError

SHORT_ID = 19  # "sha256:" + 12 hex digits, as `docker images` shows them


@dataclass(frozen=True)
class TagMove:
    """A pinned reference that already names another image."""

    reference: str
    old_id: str
    new_id: str

    def describe(self) -> str:
        """`acme/app:1.0.0 from sha256:aaa... to sha256:bbb...`."""
        return f"{self.reference} from {short_id(self.old_id)} to {short_id(self.new_id)}"


def short_id(image_id: str) -> str:
    """`sha256:` and the first 12 hex digits of an image ID."""
    return image_id if ":" not in image_id else image_id[:SHORT_ID]


def tag_moves(current: Mapping[str, str | None], wanted: Mapping[str, str]) -> list[TagMove]:
    """The references in `wanted` (reference -> new image ID) that `current` (reference ->
    image ID today, None when absent) points elsewhere."""
    moves = []
    for reference, new_id in wanted.items():
        old_id = current.get(reference)
        if old_id is not None and old_id != new_id:
            moves.append(TagMove(reference, old_id, new_id))
    return moves


def refuse_moves(moves: list[TagMove], *, force: bool) -> None:
    """One line naming the first tag that would move, its old and new IDs; none with force."""
    if not moves or force:
        return
    others = [f"also {m.describe()}" for m in moves[1:]]
    raise GateFailedError(
        f"refusing to move {moves[0].describe()}: a version tag names one image",
        hint="\n".join(
            [*others, "bump [project] version for a new release, or pass --force to move it"]
        ),
    )
