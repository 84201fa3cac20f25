"""Summarise a pytest JUnit XML file per test tier (tests/<tier>/...): passed, failed, errors, skipped.

    python3 tools/matrix/summarize.py [--label TEXT] [--seconds N] [--exit-status N] junit.xml

Prints one line per tier, a total line and the ids of the tests that failed or errored.
"""
import argparse
import collections
import sys
import xml.etree.ElementTree as ElementTree


def tier_of(classname: str) -> str:
    parts = classname.split(".")
    if len(parts) >= 2 and parts[0] == "tests":
        return parts[1]
    return parts[0] or "?"


def summarize(path):
    counts = collections.defaultdict(collections.Counter)
    problems = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        classname = case.get("classname", "")
        tier = tier_of(classname)
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "errors", "skipped": "skipped"}[child.tag]
                if outcome in ("failed", "errors"):
                    problems.append(f"{outcome.upper():7} {classname}::{case.get('name')}: "
                                    f"{(child.get('message') or '').splitlines()[0][:160] if child.get('message') else ''}")
                break
        counts[tier][outcome] += 1
    return counts, problems


def line(name, counter):
    return (f"{name:>8}: {counter['passed']} passed, {counter['failed']} failed, {counter['errors']} errors, "
            f"{counter['skipped']} skipped")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("junit")
    parser.add_argument("--label", default="")
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--exit-status", type=int)
    arguments = parser.parse_args()
    counts, problems = summarize(arguments.junit)
    total = collections.Counter()
    for counter in counts.values():
        total.update(counter)
    tail = []
    if arguments.seconds is not None:
        tail.append(f"{arguments.seconds} s")
    if arguments.exit_status is not None:
        tail.append(f"pytest exit {arguments.exit_status}")
    print(f"{arguments.label}: {line('total', total).strip()}" + (f" ({', '.join(tail)})" if tail else ""))
    for tier in sorted(counts):
        print(line(tier, counts[tier]))
    for problem in problems:
        print(f"  {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
