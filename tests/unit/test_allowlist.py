"""The shared allowlist file: parsing, matching, expiry, one-line errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import msgspec
import pytest

from conveyor.errors import ConfigError
from conveyor.findings import Finding
from conveyor.policy.allowlist import AllowEntry, load_allowlist


def finding(**overrides: object) -> Finding:
    values: dict[str, object] = {
        "tool": "trivy",
        "scan": "trivy-config",
        "kind": "misconfig",
        "target": "/repo/docker",
        "rule_id": "DS-0002",
        "severity": "HIGH",
        "title": "root",
        "path": "docker/Dockerfile",
        "fingerprint": "fp-1",
    }
    values.update(overrides)
    return msgspec.convert(values, Finding)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".conveyor-allow.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_is_empty(tmp_path: Path) -> None:
    allowlist = load_allowlist(tmp_path / "absent.toml")
    assert allowlist.entries == ()
    assert allowlist.match(finding()) is None


def test_entries_parse_and_match(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[allow]]\nid = "DS-0002"\npath = "docker/*"\nreason = "root needed"\n'
        "expires = 2030-01-01\n\n"
        '[[allow]]\nid = "fp-9"\nreason = "false positive"\nexpires = "2031-02-03"\n',
    )
    allowlist = load_allowlist(path)
    first, second = allowlist.entries
    assert first.expires == date(2030, 1, 1)
    assert second.expires == date(2031, 2, 3)
    assert allowlist.match(finding()) == first
    assert allowlist.match(finding(path="other/Dockerfile")) is None
    assert allowlist.match(finding(rule_id="X", fingerprint="fp-9")) == second
    assert allowlist.match(finding(rule_id="X")) is None


def test_entry_expiry_and_label() -> None:
    entry = AllowEntry(id="CVE-1", reason="why not", expires=date(2026, 1, 1))
    assert entry.expired(date(2026, 1, 2))
    assert not entry.expired(date(2026, 1, 1))
    assert entry.label == "CVE-1 (expires 2026-01-01)"
    scoped = AllowEntry(id="CVE-1", path="a/b", reason="why not", expires=date(2026, 1, 1))
    assert scoped.label == "CVE-1 path=a/b (expires 2026-01-01)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[allow]]\nid = "CVE-1"\nexpires = 2030-01-01\n',
            "entry 1 (id=CVE-1): reason: required, but not set",
        ),
        (
            '[[allow]]\nid = "CVE-1"\nreason = "ok ok"\nexpires = "soon"\n',
            "entry 1 (id=CVE-1): expires:",
        ),
        (
            '[[allow]]\nid = "CVE-1"\nreason = "ok ok"\nexpires = 2030-01-01\nowner = "me"\n',
            "owner: unknown key",
        ),
        (
            '[[allow]]\nreason = "ok ok"\nexpires = 2030-01-01\n',
            "entry 1: id: required, but not set",
        ),
        (
            '[[allow]]\nid = "CVE-1"\nreason = "ok ok"\nexpires = 2030-01-01T00:00:00\n',
            "entry 1 (id=CVE-1): expires: Expected `date`, got `datetime`",
        ),
        (
            '[[allow]]\nid = ""\nreason = "ok ok"\nexpires = 2030-01-01\n',
            "entry 1 (id=): id: Expected `str` of length >= 1",
        ),
        (
            '[[allow]]\nid = "CVE-1"\nreason = "ok"\nexpires = 2030-01-01\n',
            "entry 1 (id=CVE-1): reason: Expected `str` of length >= 3",
        ),
        ("allow = [3]\n", "entry 1: entry: Expected `object`, got `int`"),
        ("allow = 3\n", "'allow' must be an array of tables"),
        ("[other]\nx = 1\n", "unknown top-level key(s) ['other']"),
        ("[[allow]\n", "invalid TOML"),
    ],
)
def test_bad_files_are_one_line_naming_file_and_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_allowlist(path)
    assert info.value.message.startswith(str(path))
    assert message in info.value.message
    assert "\n" not in info.value.message
    assert "[[allow]]" in info.value.hint
