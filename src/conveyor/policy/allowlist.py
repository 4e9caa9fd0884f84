"""The one allowlist every scanner shares (`.conveyor-allow.toml`): accepted findings, with expiry.

[[allow]]
id = "CVE-2024-1234"          # CVE, rule ID (DS-0002, aws-access-token) or gitleaks fingerprint
path = "docker/Dockerfile"    # optional: only there (glob allowed)
reason = "not reachable: we never parse untrusted XML"
expires = 2026-06-30          # after this date the entry fails the gate
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Annotated, Any, Optional

import msgspec
from msgspec import Meta

from conveyor.errors import ConfigError
from conveyor.findings import Finding
from conveyor.shapes import where_and_what

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib

EXAMPLE = 'add: [[allow]] id = "CVE-…" reason = "why it is safe" expires = 2026-12-31'


class AllowEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One accepted finding: what, where (optional), why, and until when."""

    id: Annotated[str, Meta(min_length=1)]
    path: Optional[str] = None
    reason: Annotated[str, Meta(min_length=3)]
    expires: date

    def matches(self, finding: Finding) -> bool:
        """Same id (rule/CVE id or fingerprint) and, when given, the same path (glob)."""
        if self.id not in (finding.rule_id, finding.fingerprint):
            return False
        if self.path is None:
            return True
        return finding.path == self.path or fnmatchcase(finding.path, self.path)

    def expired(self, today: date) -> bool:
        return self.expires < today

    @property
    def label(self) -> str:
        """How messages name the entry: id, path and expiry."""
        where = f" path={self.path}" if self.path else ""
        return f"{self.id}{where} (expires {self.expires.isoformat()})"


@dataclass(frozen=True)
class Allowlist:
    """The parsed file: its path (for messages) and entries in file order."""

    source: Path | None = None
    entries: tuple[AllowEntry, ...] = ()

    def expired(self, today: date) -> list[AllowEntry]:
        return [e for e in self.entries if e.expired(today)]

    def match(self, finding: Finding) -> AllowEntry | None:
        """The first entry that covers `finding` (expired or not)."""
        return next((e for e in self.entries if e.matches(finding)), None)


def load_allowlist(path: Path) -> Allowlist:
    """Read `path`; a missing file is an empty list; a bad entry is one line naming it."""
    if not path.is_file():
        return Allowlist(source=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint=EXAMPLE) from None
    unknown = sorted(set(data) - {"allow"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {unknown}", hint=EXAMPLE)
    raw = data.get("allow", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'allow' must be an array of tables ([[allow]])", hint=EXAMPLE)
    return Allowlist(
        source=path, entries=tuple(_entry(path, i, item) for i, item in enumerate(raw))
    )


def _entry(path: Path, index: int, item: Any) -> AllowEntry:
    name = f"entry {index + 1}"
    if isinstance(item, dict) and isinstance(item.get("id"), str):
        name += f" (id={item['id']})"
    try:
        # A string date ("2026-06-30") is read as one; a TOML datetime is not a date.
        return msgspec.convert(item, AllowEntry, strict=True)
    except msgspec.ValidationError as exc:
        where, what = where_and_what(exc)
        raise ConfigError(
            f"{path}: [[allow]] {name}: {where or 'entry'}: {what}", hint=EXAMPLE
        ) from None
