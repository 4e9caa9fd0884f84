"""The license gate: denied license families fail unless the package is allowed with a reason.

A license string may name alternatives (SPDX `OR`, or pip-licenses' `; `-joined classifiers);
a package passes when any alternative is acceptable. Families are exact: `GPL` denies GPL
only, never LGPL or AGPL (list those separately); an entry may also be one exact identifier
such as `LGPL-3.0-only`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name

from conveyor.config import Reason
from conveyor.tools.piplicenses import PackageLicense

Status = Literal["allowed", "denied", "overridden", "unknown"]

_FAMILIES = (
    ("AGPL", re.compile(r"\bAGPL|Affero", re.IGNORECASE)),
    ("LGPL", re.compile(r"\bLGPL|Lesser General Public|Library General Public", re.IGNORECASE)),
    ("GPL", re.compile(r"\bGPL|General Public License", re.IGNORECASE)),
    ("SSPL", re.compile(r"\bSSPL|Server Side Public", re.IGNORECASE)),
)
_ALTERNATIVES = re.compile(r"\s+OR\s+|\s*;\s*")
_UNKNOWN = {"", "UNKNOWN"}


@dataclass(frozen=True)
class LicenseVerdict:
    """One package, its license, and what the policy made of it."""

    package: PackageLicense
    status: Status
    matched: str | None = None
    reason: str | None = None


def family(license_name: str) -> str | None:
    """The copyleft family a license name belongs to (AGPL, LGPL, GPL, SSPL), if any."""
    for name, pattern in _FAMILIES:
        if pattern.search(license_name):
            return name
    return None


def alternatives(license_text: str) -> list[str]:
    """The licenses a package may be used under, one per alternative."""
    text = license_text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    return [part.strip() for part in _ALTERNATIVES.split(text) if part.strip()]


def denied_by(license_name: str, deny: Sequence[str]) -> str | None:
    """The deny entry (a family, or an exact identifier) that rejects `license_name`."""
    found = family(license_name)
    for entry in deny:
        if entry.upper() == (found or "") or entry.lower() == license_name.lower():
            return entry
    return None


def judge(
    package: PackageLicense, deny: Sequence[str], allow: Mapping[str, Reason]
) -> LicenseVerdict:
    """Verdict for one package: acceptable if any alternative is not denied."""
    choices = alternatives(package.license)
    if not choices or all(choice.upper() in _UNKNOWN for choice in choices):
        return LicenseVerdict(package, "unknown")
    rejections = [denied_by(choice, deny) for choice in choices]
    if not all(rejections):
        return LicenseVerdict(package, "allowed")
    matched = rejections[0]
    override = {canonicalize_name(k): v for k, v in allow.items()}.get(
        canonicalize_name(package.name)
    )
    if override is not None:
        return LicenseVerdict(package, "overridden", matched, override.reason)
    return LicenseVerdict(package, "denied", matched)


def evaluate(
    packages: Iterable[PackageLicense], deny: Sequence[str], allow: Mapping[str, Reason]
) -> list[LicenseVerdict]:
    """Verdicts for every package, sorted by name."""
    return sorted(
        (judge(p, deny, allow) for p in packages), key=lambda v: canonicalize_name(v.package.name)
    )
