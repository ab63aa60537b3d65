"""Turn the fault suite's record (.cache/reliability.json, written by ``pytest tests/faults``)
into README's Reliability table: fault · injected · photos lost · rows duplicated · command.

    python -m tools.reliability_table                  # print the markdown table
    python -m tools.reliability_table --readme README.md   # replace the table in README.md

In README.md the table sits between ``<!-- reliability-table -->`` and
``<!-- /reliability-table -->``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO / ".cache" / "reliability.json"
BEGIN, END = "<!-- reliability-table -->", "<!-- /reliability-table -->"


# The order: crashes, writers, drives, disk errors, space, the library file, scale.
ORDER = ("test_kill", "test_writers", "test_unplugged", "test_faultfs", "test_file_times",
         "test_disk_full", "test_bad_library", "test_churn")  # fmt: skip


def _rank(case: dict) -> int:
    module = case["test"].split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
    return ORDER.index(module) if module in ORDER else len(ORDER)


def table(report: dict) -> str:
    rows = [
        "| fault | injected | photos lost | rows duplicated | command |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for case in sorted(report["cases"], key=_rank):
        fault = case["fault"]
        if case["outcome"] == "failed":
            fault += " **(test failed)**"
        elif case["outcome"] == "skipped":
            fault += " (skipped on this machine)"
        rows.append(
            f"| {fault} | {case['injected']:,} | {case['photos_lost']:,} | "
            f"{case['rows_duplicated']:,} | `{case['command']}` |"
        )
    day = report["generated"][:10]
    return "\n".join(rows) + f"\n\nFrom the run of {day} (`.cache/reliability.json`)."


def update_readme(readme: Path, markdown: str) -> None:
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {BEGIN} … {END} block to replace")
    readme.write_text(pattern.sub(f"{BEGIN}\n{markdown}\n{END}", text), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="the suite's record")
    parser.add_argument("--readme", type=Path, help="replace the table in this README")
    args = parser.parse_args(argv)
    if not args.json.is_file():
        raise SystemExit(f"{args.json} is missing: run `make faults` (pytest tests/faults) first")
    markdown = table(json.loads(args.json.read_text(encoding="utf-8")))
    if args.readme:
        update_readme(args.readme, markdown)
    else:
        print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
