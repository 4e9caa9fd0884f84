"""Run a unittest suite by unittest's own discovery and write JUnit XML (standard library only).

The `tests-3.X` sessions run this file with the session's interpreter (under `coverage run`)
for projects whose suite is unittest: discovery honours `load_tests` hooks, so doctests
added there are run and counted exactly as `python -m unittest discover` counts them.

    python _unittest_runner.py --junit FILE [--top DIR] [-k PATTERN ...] START_DIR ...

Exit codes follow pytest's: 0 passed, 1 failures, 5 no tests ran.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import unittest
from typing import Any

# JUnit XML is written from our own results, never parsed here.
from xml.etree import ElementTree as ET  # nosec B405

NO_TESTS = 5


class RecordingResult(unittest.TextTestResult):
    """A text result that also keeps each test's outcome and duration for the XML."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.records: list[tuple[str, str, float, str]] = []
        self._started = 0.0

    def startTest(self, test: unittest.TestCase) -> None:
        self._started = time.perf_counter()
        super().startTest(test)

    def _record(self, test: unittest.TestCase, outcome: str, detail: str = "") -> None:
        self.records.append((test.id(), outcome, time.perf_counter() - self._started, detail))

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._record(test, "passed")

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self._record(test, "failure", "".join(traceback.format_exception(*err)))

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self._record(test, "error", "".join(traceback.format_exception(*err)))

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._record(test, "skipped", "expected failure")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._record(test, "failure", "unexpected success")


def junit_xml(records: list[tuple[str, str, float, str]], seconds: float) -> ET.ElementTree:
    """One `testsuite` with a `testcase` per test (classname: the id up to the last dot)."""
    counts = {"failure": 0, "error": 0, "skipped": 0}
    suite = ET.Element("testsuite", name="unittest")
    for test_id, outcome, duration, detail in records:
        classname, _, name = test_id.rpartition(".")
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=name, time=f"{duration:.3f}"
        )
        if outcome in counts:
            counts[outcome] += 1
            lines = detail.strip().splitlines()
            child = ET.SubElement(case, outcome, message=lines[-1] if lines else outcome)
            child.text = detail
    suite.set("tests", str(len(records)))
    suite.set("failures", str(counts["failure"]))
    suite.set("errors", str(counts["error"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", f"{seconds:.3f}")
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.ElementTree(root)


def main(argv: list[str] | None = None) -> int:
    """Discover under each start directory, run everything, write the XML, return the code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("starts", nargs="+", metavar="START_DIR")
    parser.add_argument("--junit", required=True)
    parser.add_argument("--top", default=".")
    parser.add_argument("--pattern", default="test*.py")
    parser.add_argument("-k", dest="names", action="append", default=[])
    args = parser.parse_args(argv)
    loader = unittest.TestLoader()
    if args.names:
        loader.testNamePatterns = [n if "*" in n else f"*{n}*" for n in args.names]
    suite = unittest.TestSuite()
    for start in args.starts:
        # A start directory that is no package is its own top level (`discover -s tests`).
        top = args.top if os.path.isfile(os.path.join(start, "__init__.py")) else start
        suite.addTests(loader.discover(start, pattern=args.pattern, top_level_dir=top))
    runner = unittest.TextTestRunner(resultclass=RecordingResult, verbosity=2)
    started = time.perf_counter()
    result = runner.run(suite)
    records = result.records if isinstance(result, RecordingResult) else []
    junit_xml(records, time.perf_counter() - started).write(
        args.junit, encoding="utf-8", xml_declaration=True
    )
    if result.testsRun == 0:
        return NO_TESTS
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
