from tests.conftest import OTHER_GRID, OWN_GRID, token_client


def test_grid_worker_sees_own_grid_only(district, make_user):
    worker = make_user("grid_worker", OWN_GRID)
    client, auth = token_client(worker)
    assert client.get(f"/api/v1/grids/{OWN_GRID}", **auth).status_code == 200
    assert client.get(f"/api/v1/grids/{OTHER_GRID}", **auth).status_code == 404
    located = client.get("/api/v1/locate?lat=36.055&lng=120.305", **auth).json()
    assert located == {"grid": OWN_GRID, "grid_name": "网格11001", "community": OWN_GRID[:12],
                       "street": OWN_GRID[:9], "district": "370203"}
