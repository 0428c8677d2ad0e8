"""Loading the national division codes: the vendored Shibei subset, faults, and the CLI."""

from pathlib import Path

import pytest
from django.utils import translation

from anju import cli
from anju.core.audit import current_ip
from anju.core.models import AuditEvent
from anju.geo.actions import import_divisions
from anju.geo.imports import ImportFailed, division_path
from anju.geo.models import Division

DATA = Path(cli.__file__).resolve().parent / "geo" / "data" / "divisions"
HEADERS = {
    "provinces.csv": "code,name",
    "cities.csv": "code,name,provinceCode",
    "areas.csv": "code,name,cityCode,provinceCode",
    "streets.csv": "code,name,areaCode,provinceCode,cityCode",
    "villages.csv": "code,name,streetCode,provinceCode,cityCode,areaCode",
}
GOOD = {
    "provinces.csv": ["37,山东省"],
    "cities.csv": ["3702,青岛市,37"],
    "areas.csv": ["370203,市北区,3702,37", "370202,市南区,3702,37"],
    "streets.csv": ["370203005,辽宁路街道,370203,37,3702", "370202001,八大峡街道,370202,37,3702"],
    "villages.csv": [
        "370203005011,贮水山社区居委会,370203005,37,3702,370203",
        "370202001001,团岛社区居委会,370202001,37,3702,370202",
    ],
}


def write_folder(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        if lines is not None:
            (folder / name).write_text("\n".join([HEADERS[name], *lines]) + "\n", encoding="utf-8")
    return folder


def english_import(folder, under=None) -> int:
    with translation.override("en"):
        return import_divisions(folder, under)


def faults_of(folder, under=None) -> list[str]:
    before = (Division.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ImportFailed) as caught:
        english_import(folder, under)
    assert (Division.objects.count(), AuditEvent.objects.count()) == before, "a refused import wrote something"
    return caught.value.errors


# --- the vendored Shibei subset ------------------------------------------------------------------


def test_vendored_shibei(db):
    assert english_import(DATA, "370203") == 1 + 1 + 1 + 22 + 137
    counts = {
        level: Division.objects.filter(level=level).count()
        for level in ("province", "city", "county", "street", "community")
    }
    assert counts == {"province": 1, "city": 1, "county": 1, "street": 22, "community": 137}
    for d in Division.objects.all():
        assert d.path == division_path(d.code)
        assert d.parent_id == ({2: None, 4: d.code[:2], 6: d.code[:4], 9: d.code[:6], 12: d.code[:9]}[len(d.code)])
        assert d.code.startswith("37") and d.name
    assert Division.objects.get(code="370203005011").name == "贮水山社区居委会"
    assert Division.objects.get(code="370203005011").parent.name == "辽宁路街道"
    assert Division.objects.get(code="370203005011").path == "37/3702/370203/370203005/370203005011/"
    assert Division.objects.get(code="370203").parent_id == "3702"
    assert all(c.startswith("370203") for c in Division.objects.filter(level="street").values_list("code", flat=True))
    row = AuditEvent.objects.get(action="divisions.import")
    assert (row.username, row.object_id) == ("cli", "370203")


def test_rerun_is_idempotent(db):
    assert english_import(DATA, "370203") == 162
    names = dict(Division.objects.values_list("code", "name"))
    assert english_import(DATA, "370203") == 162
    assert Division.objects.count() == 162
    assert dict(Division.objects.values_list("code", "name")) == names


def test_rerun_refreshes_a_changed_name(db, tmp_path):
    english_import(write_folder(tmp_path / "a", GOOD))
    changed = {**GOOD, "villages.csv": ["370203005011,贮水山社区,370203005,37,3702,370203", GOOD["villages.csv"][1]]}
    assert english_import(write_folder(tmp_path / "b", changed)) == 8
    assert Division.objects.count() == 8
    assert Division.objects.get(code="370203005011").name == "贮水山社区"


def test_under_keeps_the_subtree_and_its_ancestors(db, tmp_path):
    folder = write_folder(tmp_path, GOOD)
    assert english_import(folder, "370202") == 5
    assert set(Division.objects.values_list("code", flat=True)) == {"37", "3702", "370202", "370202001", "370202001001"}
    assert english_import(folder) == 8  # the rest arrives later without trouble


def test_under_a_street(db):
    assert english_import(DATA, "370203005") == 1 + 1 + 1 + 1 + len(
        [
            line
            for line in (DATA / "villages.csv").read_text(encoding="utf-8").splitlines()
            if line.startswith("370203005")
        ]
    )


# --- faults --------------------------------------------------------------------------------------


def test_wrong_code_length(db, tmp_path):
    files = {**GOOD, "streets.csv": [*GOOD["streets.csv"], "37020300,短编码街道,370203,37,3702"]}
    faults = faults_of(write_folder(tmp_path, files))
    assert faults == ["streets.csv:4: code 37020300 should have 9 digits"]


def test_parent_mismatch(db, tmp_path):
    files = {**GOOD, "villages.csv": [*GOOD["villages.csv"], "370203005012,错挂社区居委会,370202001,37,3702,370203"]}
    assert faults_of(write_folder(tmp_path, files)) == [
        "villages.csv:4: parent 370202001 is not the start of code 370203005012"
    ]


def test_duplicate(db, tmp_path):
    files = {**GOOD, "areas.csv": [*GOOD["areas.csv"], "370203,市北区,3702,37"]}
    assert faults_of(write_folder(tmp_path, files)) == ["areas.csv:4: code 370203 appears twice"]


def test_missing_file(db, tmp_path):
    files = {**GOOD, "cities.csv": None}
    faults = faults_of(write_folder(tmp_path, files))
    assert len(faults) == 1 and "cities.csv" in faults[0] and "file is missing" in faults[0]


def test_missing_column_and_empty_name(db, tmp_path):
    folder = write_folder(tmp_path, {**GOOD, "cities.csv": ["3702,,37"]})
    (folder / "provinces.csv").write_text("code,title\n37,山东省\n", encoding="utf-8")
    faults = faults_of(folder)
    assert faults == ["provinces.csv: missing columns name", "cities.csv:2: name is empty"]


def test_every_fault_is_listed_with_its_place(db, tmp_path):
    files = {
        **GOOD,
        "streets.csv": [*GOOD["streets.csv"], "3702030099,长编码街道,370203,37,3702"],
        "villages.csv": [
            *GOOD["villages.csv"],
            "370203005011,贮水山社区居委会,370203005,37,3702,370203",
            "370203005013,错挂社区居委会,370203006,37,3702,370203",
        ],
        "provinces.csv": None,
    }
    faults = faults_of(write_folder(tmp_path, files))
    assert len(faults) == 4
    assert "provinces.csv" in faults[0] and "file is missing" in faults[0]
    assert faults[1:] == [
        "streets.csv:4: code 3702030099 should have 9 digits",
        "villages.csv:4: code 370203005011 appears twice",
        "villages.csv:5: parent 370203006 is not the start of code 370203005013",
    ]


def test_a_parent_missing_from_files_and_database(db, tmp_path):
    files = {**GOOD, "areas.csv": ["370202,市南区,3702,37"]}  # 370203 is gone; its street stays
    faults = faults_of(write_folder(tmp_path, files))
    assert faults == ["division 370203005: its parent is in neither the files nor the database"]


def test_a_parent_already_in_the_database_is_enough(db, tmp_path):
    english_import(write_folder(tmp_path / "all", GOOD))
    only_villages = {name: [] for name in HEADERS}
    only_villages["villages.csv"] = ["370203005012,新社区居委会,370203005,37,3702,370203"]
    assert english_import(write_folder(tmp_path / "villages", only_villages)) == 1
    assert Division.objects.get(code="370203005012").parent_id == "370203005"


def test_faults_outside_under_are_ignored(db, tmp_path):
    files = {**GOOD, "villages.csv": [*GOOD["villages.csv"], "370202001009,错挂社区居委会,370202002,37,3702,370202"]}
    folder = write_folder(tmp_path, files)
    assert english_import(folder, "370203") == 5
    assert faults_of(folder, "370202") == ["villages.csv:4: parent 370202002 is not the start of code 370202001009"]


@pytest.mark.parametrize("under", ["37020", "3702030051", "abc", "", "3702030050111"])
def test_bad_under_is_refused(db, under):
    faults = faults_of(DATA, under)
    assert len(faults) == 1 and "--under" in faults[0] and "2, 4, 6, 9 or 12 digits" in faults[0]


def test_faults_are_in_chinese_by_default(db, tmp_path):
    files = {**GOOD, "areas.csv": [*GOOD["areas.csv"], "370203,市北区,3702,37"]}
    with pytest.raises(ImportFailed) as caught:
        import_divisions(write_folder(tmp_path, files))
    assert caught.value.errors[0].startswith("areas.csv:4")
    assert "370203" in caught.value.errors[0] and "appears twice" not in caught.value.errors[0]


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
    """Run `anju ...` in this process, on the test database; returns (code, out, err)."""
    monkeypatch.setenv("ANJU_HOME", str(tmp_path / "home"))
    before = current_ip.get()

    def run(*argv):
        with translation.override("en"):
            code = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    current_ip.set(before)


def test_cli_imports(db, run_cli):
    code, out, err = run_cli("import-divisions", DATA, "--under", "370203")
    assert code == 0, err
    assert "162 divisions imported or refreshed." in out
    assert Division.objects.count() == 162
    assert AuditEvent.objects.get(action="divisions.import").ip == "cli"
    code, out, _ = run_cli("import-divisions", DATA, "--under", "370203")
    assert code == 0 and "162" in out and Division.objects.count() == 162


def test_cli_refuses_a_bad_folder(db, run_cli, tmp_path):
    files = {**GOOD, "streets.csv": [*GOOD["streets.csv"], "37020300,短编码街道,370203,37,3702"], "cities.csv": None}
    code, out, err = run_cli("import-divisions", write_folder(tmp_path / "bad", files))
    assert code == 1
    assert "Nothing was imported; 2 faults:" in err
    assert "streets.csv:4: code 37020300 should have 9 digits" in err and "cities.csv" in err
    assert Division.objects.count() == 0


def test_cli_refuses_a_bad_under(db, run_cli):
    code, out, err = run_cli("import-divisions", DATA, "--under", "37020")
    assert code == 1 and "--under" in err and Division.objects.count() == 0
