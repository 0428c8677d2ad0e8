from anju.geo.models import Grid
from anju.registry import actions
from anju.registry.models import Status
from tests.conftest import OWN_GRID


def test_smoke(district, make_user):
    w = make_user("grid_worker", OWN_GRID)
    o = make_user("officer", OWN_GRID[:12])
    g = Grid.objects.get(code=OWN_GRID)
    h = actions.collect_house(
        w,
        {
            "community": OWN_GRID[:12],
            "road": "延安三路",
            "door_number": "123号",
            "estate": "鲁邦国际",
            "building": "三号楼",
            "unit": "2",
            "room": "502室",
            "lng": 120.305,
            "lat": 36.055,
            "use": "rented",
        },
    )
    assert h.status == Status.PENDING and h.grid == g and h.address.floor == "5", h.address.__dict__
    print(h.address.label)
    p = actions.collect_person(
        w,
        {"name": "张三", "id_number": "11010519491231002X", "phone": "13812345678", "kind": "floating"},
        place=g.path,
        grid=g,
    )
    r = actions.check_in(w, h, p, start="2026-11-01", relation="tenant")
    assert r.registration_due.isoformat() == "2026-11-04" and r.overdue
    actions.verify(o, r)
    p.refresh_from_db()
    assert p.status == Status.VERIFIED
    actions.propose_change(w, p, {"phone": "13912345678"})
    p.refresh_from_db()
    assert p.pending == {"phone": "13912345678"} and p.phone == "13812345678"
    actions.verify(o, p)
    p.refresh_from_db()
    assert p.phone == "13912345678" and not p.pending
    actions.propose_change(w, p, {"name": "张四"})
    actions.reject(o, p, "wrong")
    p.refresh_from_db()
    assert p.name == "张三" and p.status == "verified"
    actions.check_out(w, r, end="2026-11-20")
    assert h.building.address.label


def test_a_foreign_national_is_due_within_a_day_whatever_the_relation(district, make_user):
    officer = make_user("officer", OWN_GRID[:12])
    g = Grid.objects.get(code=OWN_GRID)
    h = actions.collect_house(
        officer,
        {
            "community": OWN_GRID[:12],
            "road": "台东一路",
            "door_number": "8",
            "room": "301",
            "lng": 120.305,
            "lat": 36.055,
        },
    )
    data = {"name": "Tanaka Yui", "kind": "foreign", "passport_number": "TK1234567", "nationality": "JPN"}
    p = actions.collect_person(officer, {**data, "sex": "female", "birth_date": "1992-02-03"}, place=g.path, grid=g)
    r = actions.check_in(officer, h, p, start="2026-11-01", relation="family")
    assert r.registration_due.isoformat() == "2026-11-02"
