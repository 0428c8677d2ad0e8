"""The `anju` command end to end: the demo district, audit verify, grid export and import.

The demo runs once for the whole module (it takes 15-20 s) in a subprocess, on its own SQLite
database under a temporary --home, with ANJU_DATABASE_URL removed from its environment. The
database is then read directly with sqlite3. Because the subprocess never touches the test
database, the module runs in the SQLite pass only and is skipped when ANJU_DATABASE_URL is set
(it would repeat the very same SQLite run).
"""

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password

from anju.core.roles import Role

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("ANJU_DATABASE_URL")),
    reason="the CLI runs on its own SQLite database; covered by the SQLite pass",
)

ROOT = Path(__file__).resolve().parent.parent
SINGLE_POSTS = {"head", "advisor", "officer", "manager"}


def anju(*args, timeout=300) -> subprocess.CompletedProcess:
    """Run `python -m anju.cli ARGS` with a clean environment (SQLite, no inherited home or key)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ANJU_DATABASE_URL", "ANJU_HOME", "ANJU_SECRET_KEY", "DJANGO_SETTINGS_MODULE")
    }
    return subprocess.run(
        [sys.executable, "-m", "anju.cli", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def query(home: Path, sql: str, *params):
    with sqlite3.connect(home / "anju.sqlite3") as conn:
        return conn.execute(sql, params).fetchall()


def counts(home: Path) -> dict:
    return {
        table: query(home, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in ("geo_division", "geo_grid", "geo_teammember", "core_user", "core_assignment")
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """(home, first run, accounts file text) after one `anju demo --no-serve` with a few residents."""
    home = tmp_path_factory.mktemp("demo")
    run = anju("demo", "--no-serve", "--residents", "2000", "--home", home)
    assert run.returncode == 0, run.stderr[-3000:]
    return home, run, (home / "demo-accounts.json").read_text()


@pytest.fixture(scope="module")
def rerun(demo):
    """The same demo run a second time: (counts before, run, counts after)."""
    home = demo[0]
    before = counts(home)
    run = anju("demo", "--no-serve", "--residents", "2000", "--home", home)
    return before, run, counts(home)


def people(text: str) -> list[dict]:
    """The demo's personal accounts (the Open311 client's key is listed with them)."""
    return [a for a in json.loads(text) if a["role"] != "open311_client"]


def test_demo_accounts(demo):
    home, run, text = demo
    clients = [a for a in json.loads(text) if a["role"] == "open311_client"]
    assert [set(a) for a in clients] == [{"username", "role", "api_key"}]
    accounts = people(text)
    assert len(accounts) == 14
    assert all(set(a) == {"username", "password", "role", "scope"} for a in accounts)
    assert {a["role"] for a in accounts} == set(Role.values)
    assert len({a["username"] for a in accounts}) == 14
    assert stat.S_IMODE((home / "demo-accounts.json").stat().st_mode) == 0o600
    for a in accounts:
        line = next(line for line in run.stdout.splitlines() if line.split()[:1] == [a["username"]])
        assert line.split() == [a["username"], a["password"], a["role"], a["scope"]]


def test_demo_accounts_sign_in_with_their_role(demo):
    home, _, text = demo
    for a in people(text):
        ((encoded, active),) = query(
            home, "SELECT password, is_active FROM core_user WHERE username = ?", a["username"]
        )
        assert active and encoded.startswith("argon2") and check_password(a["password"], encoded), a["username"]
        held = query(
            home,
            "SELECT a.role, a.node_code FROM core_assignment a JOIN core_user u ON u.id = a.user_id "
            "WHERE u.username = ?",
            a["username"],
        )
        assert held == [(a["role"], a["scope"])]
        kind = "geo_grid" if len(a["scope"]) == 15 else "geo_division"
        assert query(home, f"SELECT COUNT(*) FROM {kind} WHERE code = ?", a["scope"]) == [(1,)]


def test_demo_divisions(demo):
    home = demo[0]
    levels = dict(query(home, "SELECT level, COUNT(*) FROM geo_division GROUP BY level"))
    assert levels == {"province": 1, "city": 1, "county": 1, "street": 22, "community": 137}
    assert query(
        home, "SELECT COUNT(*) FROM geo_division WHERE level IN ('street', 'community') AND code NOT LIKE '370203%'"
    ) == [(0,)]
    assert query(home, "SELECT name FROM geo_division WHERE code = '370203005011'") == [("贮水山社区居委会",)]
    # Every street and community got a (generated) outline; the district's is the real one.
    assert query(
        home,
        "SELECT COUNT(*) FROM geo_division WHERE level IN ('street', 'community') "
        "AND (geometry = '' OR geometry_generated = 0)",
    ) == [(0,)]
    assert query(home, "SELECT geometry_generated, geometry != '' FROM geo_division WHERE code = '370203'") == [(0, 1)]


def test_demo_grids(demo):
    home = demo[0]
    grids = query(home, "SELECT code, community_id, path, households, generated FROM geo_grid")
    assert 300 <= len(grids) <= 1200
    communities = {c for (c,) in query(home, "SELECT code FROM geo_division WHERE level = 'community'")}
    assert {g[1] for g in grids} == communities  # every community has grids
    for code, community, path, households, generated in grids:
        assert len(code) == 15 and code.startswith(community), code
        assert path == f"37/3702/370203/{code[:9]}/{community}/{code}/"
        assert 300 <= households <= 500, (code, households)
        assert generated == 1


def test_demo_teams(demo):
    home = demo[0]
    n_grids = query(home, "SELECT COUNT(*) FROM geo_grid")[0][0]
    posts = query(
        home,
        "SELECT g.code, t.post, COUNT(*) FROM geo_grid g JOIN geo_teammember t ON t.grid_id = g.id "
        "GROUP BY g.code, t.post",
    )
    singles = {}
    for code, post, n in posts:
        if post in SINGLE_POSTS:
            assert n == 1, (code, post, n)
            singles.setdefault(code, set()).add(post)
    assert len(singles) == n_grids and all(s == SINGLE_POSTS for s in singles.values())
    # The demo grid worker is the manager of the first grid of 贮水山社区.
    assert query(
        home,
        "SELECT u.username FROM geo_teammember t JOIN geo_grid g ON g.id = t.grid_id "
        "JOIN core_user u ON u.id = t.user_id WHERE g.code = '370203005011001' AND t.post = 'manager'",
    ) == [("grid_worker",)]


def test_demo_audit_chain_is_intact(demo):
    home = demo[0]
    run = anju("--home", home, "audit", "verify")
    assert run.returncode == 0, run.stderr
    n = query(home, "SELECT COUNT(*) FROM core_auditevent")[0][0]
    assert f"Audit chain intact: {n} rows checked." in run.stdout
    assert query(home, "SELECT COUNT(*) FROM core_auditevent WHERE action = 'grids.import'") == [(1,)]


def test_demo_twice_changes_nothing(demo, rerun):
    home, _, text = demo
    before, run, after = rerun
    assert run.returncode == 0, run.stderr[-3000:]
    assert "already there" in run.stdout
    assert after == before
    again = (home / "demo-accounts.json").read_text()
    assert [(a["username"], a["password"]) for a in people(again)] == [
        (a["username"], a["password"]) for a in people(text)
    ]
    # The Open311 key still works, so it is kept rather than issued again.
    assert [a["api_key"] for a in json.loads(again) if "api_key" in a] == [
        a["api_key"] for a in json.loads(text) if "api_key" in a
    ]


def test_audit_verify_takes_home_after_the_subcommand(demo, rerun):
    run = anju("audit", "verify", "--home", demo[0])
    assert run.returncode == 0, run.stderr


def test_grids_export_takes_home_after_the_subcommand(demo, rerun, tmp_path):
    run = anju("grids", "export", "--home", demo[0], "-o", tmp_path / "grids.geojson")
    assert run.returncode == 0, run.stderr


def test_grids_export_then_import(demo, rerun, tmp_path):
    home = demo[0]
    n = query(home, "SELECT COUNT(*) FROM geo_grid")[0][0]
    out = tmp_path / "grids.geojson"
    run = anju("--home", home, "grids", "export", "-o", out)
    assert run.returncode == 0, run.stderr
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["type"] == "FeatureCollection" and len(exported["features"]) == n
    geometries = dict(query(home, "SELECT code, geometry FROM geo_grid"))
    run = anju("--home", home, "grids", "import", out)
    assert run.returncode == 0, run.stderr
    assert f"0 grids created, {n} updated." in run.stdout
    assert dict(query(home, "SELECT code, geometry FROM geo_grid")) == geometries
    part = anju("--home", home, "grids", "export", "--under", "370203005011")
    assert part.returncode == 0
    assert {f["properties"]["code"][:12] for f in json.loads(part.stdout)["features"]} == {"370203005011"}


def test_grids_import_refuses_a_bad_file(demo, rerun, tmp_path):
    home = demo[0]
    before = counts(home)
    geometries = dict(query(home, "SELECT code, geometry FROM geo_grid"))
    bad = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "370203005011001", "name": "x", "community": "370203005011"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[120.3, 36.05], [120.31, 36.06], [120.31, 36.05], [120.3, 36.06], [120.3, 36.05]]],
                },
            },
            {
                "type": "Feature",
                "properties": {"code": "370203005099001", "name": "y", "households": -2},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[120.3, 36.05], [120.31, 36.05], [120.31, 36.06], [120.3, 36.05]]],
                },
            },
        ],
    }
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(bad), encoding="utf-8")
    run = anju("--home", home, "grids", "import", path)
    assert run.returncode == 1
    fault_lines = [line for line in run.stderr.splitlines() if line.startswith("  ")]
    # The bow-tie; then the unknown community's grid, which also has a negative household count.
    assert len(fault_lines) == 3, run.stderr
    assert "Nothing was imported; 3 faults:" in run.stderr
    assert "370203005011001" in fault_lines[0] and "Self-intersection" in fault_lines[0]
    assert all("370203005099001" in line for line in fault_lines[1:])
    assert counts(home) == before
    assert dict(query(home, "SELECT code, geometry FROM geo_grid")) == geometries

    path.write_text("{not json", encoding="utf-8")
    run = anju("--home", home, "grids", "import", path)
    assert run.returncode == 1 and str(path) in run.stderr
    run = anju("--home", home, "grids", "import", tmp_path / "missing.geojson")
    assert run.returncode == 1 and "missing.geojson" in run.stderr
    assert counts(home) == before


def test_audit_verify_finds_tampering_in_the_demo_database(demo, rerun, tmp_path):
    """Last: works on a copy, so the demo database stays intact."""
    copy_home = tmp_path / "copy"
    copy_home.mkdir()
    with sqlite3.connect(demo[0] / "anju.sqlite3") as source, sqlite3.connect(copy_home / "anju.sqlite3") as target:
        source.backup(target)
    (copy_home / "secret.key").write_text((demo[0] / "secret.key").read_text())
    with sqlite3.connect(copy_home / "anju.sqlite3") as conn:
        conn.execute("DROP TRIGGER core_auditevent_no_update")
        conn.execute("UPDATE core_auditevent SET username = 'mallory' WHERE id = 7")
    run = anju("--home", copy_home, "audit", "verify")
    assert run.returncode == 1
    assert "row 7 was altered" in run.stderr


def test_bad_arguments(tmp_path):
    assert anju("--home", tmp_path, "demo", "--no-serve", "--residents", "-1").returncode == 2
    assert anju("--home", tmp_path, "nonsense").returncode == 2
