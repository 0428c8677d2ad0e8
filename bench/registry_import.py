"""Import N houses, then N people moving into them, then the same people file again (nothing to do).

Usage: ANJU_HOME=DIR python bench/registry_import.py [--rows N]
(DIR prepared with `anju demo --no-serve --residents 0 --home DIR`; add ANJU_DATABASE_URL for
PostgreSQL). The files are CSV in GB18030, as Excel saves them in China, with the Chinese headers of
the import templates. Each import runs as a community officer of the demo grid's community, so it is
checked, scoped and written exactly as an upload from the page; the rows are rolled back afterwards.
Prints wall and CPU time per file.
"""

import argparse
import csv
import io
import os
import time
from datetime import date, timedelta


class Rollback(Exception):
    """Raised to undo the benchmark's writes."""


def id_number(i: int) -> str:
    from anju.core.validators import id_number_check_char

    first17 = f"370203{date(1950, 1, 1) + timedelta(days=i // 100):%Y%m%d}{i % 100:03d}"
    return first17 + id_number_check_char(first17)


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("gb18030")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
    import django

    django.setup()
    from django.db import transaction

    from anju.core import actions as core_actions
    from anju.core.models import User
    from anju.demo.loader import COMMUNITY, GRID
    from anju.registry.actions.imports import import_file

    n = args.rows
    place = [COMMUNITY, GRID, "延安三路"]
    houses = [["社区编码", "网格编码", "街路巷", "门牌号", "楼栋", "单元", "户室", "房屋用途"]]
    houses += [place + [str(1 + i // 2000), str(1 + i // 100 % 20), "1", str(101 + i % 100), "出租"] for i in range(n)]
    people = [["姓名", "身份证号", "人员类别", "联系电话", "社区编码", "网格编码", "街路巷", "门牌号", "楼栋", "单元"]]
    people[0] += ["户室", "关系", "入住日期"]
    people += [
        ["张三", id_number(i), "流动", f"138{i:08d}"]
        + place
        + [str(1 + i // 2000), str(1 + i // 100 % 20), "1", str(101 + i % 100), "租户", "2024-03-01"]
        for i in range(n)
    ]
    try:
        with transaction.atomic():
            officer = User.objects.filter(username="bench_import_officer").first()
            if officer is None:
                officer = core_actions.create_user(None, username="bench_import_officer", password="Bench-pass-2024!")
                core_actions.assign_role(None, officer, "officer", COMMUNITY)
            for kind, rows in (("houses", houses), ("people", people), ("people", people)):
                content = csv_bytes(rows)
                wall, cpu = time.perf_counter(), time.process_time()
                result = import_file(officer, kind, f"{kind}.csv", content)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                print(
                    f"{kind:7} {n:,} rows ({len(content) / 1e6:.1f} MB): {wall:6.1f} s wall, {cpu:6.1f} s CPU; "
                    f"accepted={result.accepted} created={result.created:,} updated={result.updated:,} "
                    f"unchanged={result.unchanged:,}"
                )
                assert result.accepted, result.errors[:3]
            raise Rollback
    except Rollback:
        pass


if __name__ == "__main__":
    main()
