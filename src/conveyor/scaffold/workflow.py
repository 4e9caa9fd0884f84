"""The thin GitHub Actions workflow: a session matrix from nox, coverage, and build + scan."""

from __future__ import annotations

from conveyor.scaffold.layout import Layout
from conveyor.scaffold.templates import render

UPLOAD_SARIF = (
    "github/codeql-action/upload-sarif@5d4e8d1aca955e8d8589aabd499c5cae939e33c7 # v4.31.9"
)
SARIF_SCANS = ("trivy-image", "trivy-fs", "trivy-config", "gitleaks")
"""The scans `inv scan` writes `<reports>/scan/sarif/<scan>.sarif` for; each is its own category."""


def sarif_steps(reports_dir: str) -> str:
    """One upload step per SARIF file, each with its own code-scanning category."""
    steps = []
    for category in SARIF_SCANS:
        path = f"{reports_dir}/scan/sarif/{category}.sarif"
        steps.append(
            f"      - name: upload {category} SARIF\n"
            f"        if: ${{{{ !cancelled() && hashFiles('{path}') != '' }}}}\n"
            f"        uses: {UPLOAD_SARIF}\n"
            f"        with:\n"
            f"          sarif_file: {path}\n"
            f"          category: {category}\n"
        )
    return "".join(steps).rstrip("\n")


def workflow(layout: Layout, *, docker: bool, reports_dir: str = "reports") -> str:
    """`.github/workflows/ci.yml`; the build-and-scan job only for projects with an image."""
    text = render("ci.yml", tools_python=layout.tools_python, reports_dir=reports_dir)
    if docker:
        text += render("ci-ops.yml", sarif_uploads=sarif_steps(reports_dir))
    return text
