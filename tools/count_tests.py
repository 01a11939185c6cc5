#!/usr/bin/env python3
"""Counts individual test cases from Bazel's test.xml files.

Usage: count_tests.py TESTLOGS_DIR BAZEL_OUTPUT_FILE LABEL...

Prints one line per failed case, then "N passed, N failed". A target whose
Bazel status is not PASSED but whose XML shows no failure (crash, timeout,
build failure, missing XML) counts as one failed case, so nothing that failed
can disappear from the count.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def target_statuses(bazel_output):
    statuses = {}
    pattern = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|"
                         r"NO STATUS|FLAKY|INCOMPLETE|REMOTE FAILURE|SKIPPED)\b")
    for line in bazel_output.splitlines():
        m = pattern.match(line.strip())
        if m:
            statuses[m.group(1)] = m.group(2)
    return statuses


def main():
    testlogs, output_file, labels = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(output_file, errors="replace") as f:
        statuses = target_statuses(f.read())
    passed = failed = 0
    for label in labels:
        package, _, name = label.lstrip("/").partition(":")
        xml_path = os.path.join(testlogs, package, name, "test.xml")
        status = statuses.get(label, "NO STATUS")
        target_failures = 0
        if status != "FAILED TO BUILD" and os.path.exists(xml_path):
            try:
                root = ET.parse(xml_path).getroot()
            except ET.ParseError:
                root = None
            for case in (root.iter("testcase") if root is not None else []):
                if case.get("status") == "notrun" or case.get("result") == "skipped":
                    continue
                if case.find("failure") is not None or case.find("error") is not None:
                    target_failures += 1
                    print(f"FAILED: {label} {case.get('classname', '')}.{case.get('name', '')}")
                else:
                    passed += 1
        if status not in ("PASSED", "FLAKY") and target_failures == 0:
            target_failures = 1
            print(f"FAILED: {label} ({status.lower()})")
        failed += target_failures
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
