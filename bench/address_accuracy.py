"""Field-level accuracy and throughput of the address parser on the labelled set.

Usage: python bench/address_accuracy.py [--data tests/data/addresses.tsv] [--repeat 20000] [--failures]

Prints a Markdown table ready for docs/benchmarks.md: for each field, correct / labelled (the label is
present and the parser gives exactly that value) and false positives (the label is empty but the parser
gives a value); then the exact-match rate (every field right) and parses per second. --failures also
lists every address with a wrong field.
"""

import argparse
import csv
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anju.registry.address_parser import FIELDS, default_gazetteer, parse  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "addresses.tsv"


def load(path: Path) -> list[dict[str, str]]:
    """Rows of the labelled TSV: text plus the twelve fields, empty string for absent."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def evaluate(rows: list[dict[str, str]]) -> dict:
    """Per-field counts (labelled, correct, false positives), exact matches and the failing rows."""
    gazetteer = default_gazetteer()
    stats = {name: {"labelled": 0, "correct": 0, "false_pos": 0, "wrong": 0} for name in FIELDS}
    exact = 0
    failures = []
    for row in rows:
        got = parse(row["text"], gazetteer)
        wrong = []
        for name in FIELDS:
            want, have = row[name] or "", getattr(got, name) or ""
            s = stats[name]
            if want:
                s["labelled"] += 1
                if have == want:
                    s["correct"] += 1
                else:
                    s["wrong"] += 1
            elif have:
                s["false_pos"] += 1
            if have != want:
                wrong.append((name, want, have))
        if wrong:
            failures.append((row["text"], wrong, got))
        else:
            exact += 1
    cells = sum(s["labelled"] for s in stats.values())
    correct = sum(s["correct"] for s in stats.values())
    false_pos = sum(s["false_pos"] for s in stats.values())
    return {
        "fields": stats,
        "rows": len(rows),
        "exact": exact,
        "cells": cells,
        "correct": correct,
        "false_pos": false_pos,
        # Accuracy over all labelled cells; false positives count against it through "all cells".
        "field_accuracy": correct / cells if cells else 0.0,
        "cell_accuracy": (len(rows) * len(FIELDS) - sum(len(f[1]) for f in failures)) / (len(rows) * len(FIELDS)),
        "failures": failures,
    }


def table(result: dict) -> str:
    """The Markdown table of per-field accuracy."""
    lines = ["| field | correct / labelled | accuracy | false positives |", "|---|---|---|---|"]
    for name, s in result["fields"].items():
        acc = s["correct"] / s["labelled"] if s["labelled"] else 1.0
        lines.append(f"| {name} | {s['correct']} / {s['labelled']} | {acc:.3f} | {s['false_pos']} |")
    lines.append(
        f"| **all fields** | {result['correct']} / {result['cells']} | **{result['field_accuracy']:.3f}** "
        f"| {result['false_pos']} |"
    )
    return "\n".join(lines)


def throughput(rows: list[dict[str, str]], repeat: int) -> float:
    """Parses per second over `repeat` parses cycling through the rows."""
    gazetteer = default_gazetteer()
    texts = [row["text"] for row in rows]
    t0 = time.perf_counter()
    for i in range(repeat):
        parse(texts[i % len(texts)], gazetteer)
    return repeat / (time.perf_counter() - t0)


def main() -> None:
    """Print the accuracy table, exact-match rate and throughput."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=20_000)
    ap.add_argument("--failures", action="store_true", help="list the addresses with a wrong field")
    args = ap.parse_args()

    rows = load(args.data)
    result = evaluate(rows)
    rate = throughput(rows, args.repeat)
    print(f"{result['rows']} labelled addresses ({args.data.name}), {result['cells']} labelled fields\n")
    print(table(result))
    print()
    exact_rate = result["exact"] / result["rows"]
    print("| measure | figure |\n|---|---|")
    print(f"| field accuracy (correct / labelled) | {result['field_accuracy']:.3f} |")
    print(f"| cell accuracy (all 12 fields, empty included) | {result['cell_accuracy']:.3f} |")
    print(f"| exact match (all 12 fields right) | {result['exact']} / {result['rows']} = {exact_rate:.3f} |")
    print(f"| throughput, {args.repeat:,} parses | {rate:,.0f} addresses/s |")
    if args.failures:
        print()
        for text, wrong, got in result["failures"]:
            diffs = "; ".join(f"{name}: want {want or '-'} got {have or '-'}" for name, want, have in wrong)
            print(f"{text}\n    {diffs}  (confidence {got.confidence}, leftover {got.leftover!r})")


if __name__ == "__main__":
    main()
