"""The license gate: families, alternatives, exact identifiers, per-package overrides."""

from __future__ import annotations

import pytest

from conveyor.config import LicenseSettings, Reason
from conveyor.policy.licenses import alternatives, denied_by, evaluate, family, judge
from conveyor.tools.piplicenses import PackageLicense

DENY = LicenseSettings().deny


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GPL-2.0-or-later", "GPL"),
        ("GNU General Public License v2 or later (GPLv2+)", "GPL"),
        ("GPLv3", "GPL"),
        ("LGPL-2.1-only", "LGPL"),
        ("GNU Lesser General Public License v3 (LGPLv3)", "LGPL"),
        ("GNU Library or Lesser General Public License (LGPL)", "LGPL"),
        ("AGPL-3.0-or-later", "AGPL"),
        ("GNU Affero General Public License v3", "AGPL"),
        ("SSPL-1.0", "SSPL"),
        ("Server Side Public License", "SSPL"),
        ("MIT", None),
        ("Apache-2.0", None),
    ],
)
def test_family(name: str, expected: str | None) -> None:
    assert family(name) == expected


def test_alternatives_split_on_or_and_semicolons_only() -> None:
    assert alternatives("Apache-2.0 OR BSD-2-Clause") == ["Apache-2.0", "BSD-2-Clause"]
    assert alternatives("MIT License; GNU General Public License (GPL)") == [
        "MIT License",
        "GNU General Public License (GPL)",
    ]
    assert alternatives("GNU General Public License v2 or later (GPLv2+)") == [
        "GNU General Public License v2 or later (GPLv2+)"
    ]
    assert alternatives("(MIT OR GPL-3.0)") == ["MIT", "GPL-3.0"]


def test_gpl_does_not_deny_lgpl_but_an_exact_identifier_can() -> None:
    assert denied_by("GPL-3.0-only", DENY) == "GPL"
    assert denied_by("LGPL-2.1-or-later", DENY) is None
    assert denied_by("LGPL-3.0-only", DENY) == "LGPL-3.0-only"
    assert denied_by("AGPL-3.0", ["agpl"]) == "agpl"
    assert denied_by("MIT", DENY) is None


def package(license_text: str, name: str = "pkg") -> PackageLicense:
    return PackageLicense(name, "1.0", license_text, "")


def test_judge_each_status() -> None:
    assert judge(package("MIT"), DENY, {}).status == "allowed"
    assert judge(package("MIT OR GPL-2.0"), DENY, {}).status == "allowed"
    denied = judge(package("GPL-2.0"), DENY, {})
    assert (denied.status, denied.matched) == ("denied", "GPL")
    assert judge(package("UNKNOWN"), DENY, {}).status == "unknown"
    assert judge(package(""), DENY, {}).status == "unknown"
    override = judge(
        package("GPL-2.0", name="Unidecode"), DENY, {"unidecode": Reason(reason="build only")}
    )
    assert (override.status, override.matched, override.reason) == (
        "overridden",
        "GPL",
        "build only",
    )


def test_evaluate_sorts_by_canonical_name() -> None:
    verdicts = evaluate([package("MIT", "Zed"), package("SSPL-1.0", "alpha_b")], DENY, {})
    assert [(v.package.name, v.status) for v in verdicts] == [
        ("alpha_b", "denied"),
        ("Zed", "allowed"),
    ]
