"""Synthetic street / community / grid shapes for the demo district.

The demo district has a real boundary but no real sub-divisions, so we cut it up ourselves:
`partition` splits a polygon into cells of prescribed relative area with a power diagram
(weighted Voronoi) clipped to the parent. The cells form an exact partition: they are built
by polygonizing one shared, noded set of lines, so neighbouring cells share bit-identical
edges and the cells of a parent union back to the parent.
"""

import math

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

# Area tolerance (relative to each cell's target) at which the weight solver stops.
_AREA_TOL = 0.01
# Lloyd relaxation (sites -> cell centroids) runs for at most this share of the iterations;
# the rest is spent on matching the areas exactly again.
_RELAX_SHARE = 0.5
# Sites stop moving once a step moves none of them more than this share of a cell's size.
_RELAX_STOP = 0.02
# If handing cut-off pieces to neighbours leaves a cell further than this from its target,
# start again from a derived seed (at most _ATTEMPTS times) and keep the best result.
_RETRY_ABOVE = 0.04
_ATTEMPTS = 4


def partition(parent, weights, seed=0, iterations=60):
    """Split `parent` (shapely Polygon or MultiPolygon) into len(weights) cells whose areas are
    proportional to `weights` (positive floats). Returns a list of shapely geometries in the same
    order as weights.

    The cells are the parent clipped by a power diagram whose sites start from a seeded k-means
    of random points in the parent, are relaxed toward their cell centroids (compact cells) and
    whose power weights are solved with damped Newton steps until every area is within 1% of its
    target. In a non-convex parent a power cell can fall apart; its smaller pieces go to the
    neighbour they share most border with, and if that moves an area by more than 4% the split is
    redone from a derived seed (best of 4 kept). The result is deterministic for `seed`, and the
    cells are Polygons (a MultiPolygon only for a parent part too small for a cell of its own).
    `iterations` caps the solver steps (site moves plus Newton steps) per attempt.

    A MultiPolygon parent is handled part by part: cells are dealt to the parts so that the parts'
    areas are matched as well as whole cells allow, so areas there are only approximate.
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1 or len(weights) == 0:
        raise ValueError("weights must be a non-empty 1-d sequence")
    if not np.all(np.isfinite(weights)) or np.any(weights <= 0):
        raise ValueError("weights must be positive finite numbers")
    if not isinstance(parent, (Polygon, MultiPolygon)) or parent.is_empty or parent.area <= 0:
        raise ValueError("parent must be a Polygon or MultiPolygon with area")
    if not parent.is_valid:
        parent = _polygonal(shapely.make_valid(parent))
    parts = [p for p in shapely.get_parts(parent) if p.area > 0]
    if len(parts) > 1:
        return _partition_parts(parts, weights, seed, iterations)
    return _partition_polygon(parts[0], weights, seed, iterations)


def _partition_polygon(parent, weights, seed, iterations):
    """`partition` for a single Polygon."""
    n = len(weights)
    if n == 1:
        return [parent]
    frame = _Frame(parent)
    local = frame.forward(parent)
    shapely.prepare(local)
    targets = weights / weights.sum() * local.area
    best, best_err = None, math.inf
    for attempt in range(_ATTEMPTS):
        # The first attempt is seeded with `seed` itself; retries derive their own streams.
        rng = np.random.default_rng(seed if attempt == 0 else [seed, attempt])
        samples = _sample_inside(local, max(3000, 40 * n), rng)
        sites = _order_sites(_kmeans(samples, n, rng))
        sites, power = _solve(local, sites, np.zeros(n), targets, iterations)
        cells = _absorb_detached(_exact_cells(parent, local, frame, sites, power))
        err = _error(np.array([c.area for c in cells]) / parent.area * local.area, targets)
        if err < best_err:
            best, best_err = cells, err
        if err <= _RETRY_ABOVE:
            break
    return best


def _partition_parts(parts, weights, seed, iterations):
    """`partition` for a parent of several polygons: deal the cells to the parts (largest cell to
    the part with the most area still unclaimed), split each part on its own, and glue parts too
    small to get a cell onto the nearest cell."""
    areas = np.array([p.area for p in parts])
    targets = weights / weights.sum() * areas.sum()
    # Parts under half the smallest cell would be badly over-filled by a whole cell.
    open_area = np.where(areas >= 0.5 * targets.min(), areas, -np.inf)
    if not np.isfinite(open_area).any():
        open_area[int(np.argmax(areas))] = areas.max()
    home = np.empty(len(weights), dtype=int)
    for i in np.argsort(-targets, kind="stable"):
        home[i] = int(np.argmax(open_area))
        open_area[home[i]] -= targets[i]
    cells = [None] * len(weights)
    for k, part in enumerate(parts):
        members = np.flatnonzero(home == k)
        if len(members):
            split = _partition_polygon(part, weights[members], seed, iterations)
            for i, cell in zip(members, split, strict=True):
                cells[i] = cell
    for k, part in enumerate(parts):
        if not np.any(home == k):
            nearest = int(np.argmin(shapely.distance(np.array(cells, dtype=object), part)))
            cells[nearest] = shapely.union(cells[nearest], part)
    return cells


def split_households(total, parts, rng):
    """Split an integer household count `total` into `parts` positive integers that sum to total,
    each near total/parts (small random variation, deterministic for rng).

    `rng` is a numpy Generator (or anything with ``uniform(low, high)``, e.g. random.Random).
    Before rounding every part lies within +-20% of the mean, so for means of 20 or more each
    part stays within +-25% of the mean.
    """
    total, parts = int(total), int(parts)
    if parts < 1:
        raise ValueError("parts must be at least 1")
    if total < parts:
        raise ValueError("total must be at least parts so every part is positive")
    # Zero-mean jitter keeps the shares summing to exactly 1, so the +-10% jitter can only
    # become +-20% after centring, never more.
    jitter = np.array([rng.uniform(-0.1, 0.1) for _ in range(parts)], dtype=float)
    shares = 1.0 + jitter - jitter.mean()
    raw = total * shares / shares.sum()
    counts = np.maximum(np.floor(raw).astype(int), 1)
    # Hand out (or take back) the rounding remainder by largest fractional part, so the sum is
    # exact and each part moves by at most one household.
    remainder = total - int(counts.sum())
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while remainder > 0:
        counts[order[i % parts]] += 1
        remainder -= 1
        i += 1
    # Parts lifted to 1 above can leave us over the total: take it back from the larger parts.
    while remainder < 0:
        for j in order[::-1]:
            if remainder < 0 and counts[j] > 1:
                counts[j] -= 1
                remainder += 1
    return [int(c) for c in counts]


def grids_for(households, target=400):
    """How many grids a community of `households` gets so that each grid holds about 300-500
    households: max(1, round(households/target)).

    With the default target every count of 600 or more (and 300..500) lands in 300..500 per grid;
    501..599 households cannot be split that way (1 grid is >500, 2 grids are <300) and get 1.
    """
    return max(1, round(float(households) / target))


class _Frame:
    """Local plane for a lon/lat geometry: longitude scaled by cos(latitude) so distances are
    isotropic (power cells are not stretched), and everything scaled to about unit area so the
    solver's tolerances do not depend on the parent's size."""

    def __init__(self, geom):
        minx, miny, maxx, maxy = geom.bounds
        self.x0 = (minx + maxx) / 2.0
        self.y0 = (miny + maxy) / 2.0
        # Small districts, so one cosine for the whole parent is plenty.
        self.cx = math.cos(math.radians(self.y0)) if -90 < self.y0 < 90 else 1.0
        self.scale = math.sqrt(geom.area * self.cx) or 1.0

    def forward_xy(self, xy):
        xy = np.asarray(xy, dtype=float)
        x = (xy[:, 0] - self.x0) * self.cx / self.scale
        return np.column_stack((x, (xy[:, 1] - self.y0) / self.scale))

    def inverse_xy(self, xy):
        xy = np.asarray(xy, dtype=float)
        return np.column_stack((xy[:, 0] * self.scale / self.cx + self.x0, xy[:, 1] * self.scale + self.y0))

    def forward(self, geom):
        return shapely.transform(geom, self.forward_xy)


def _polygonal(geom):
    """Polygonal part of a make_valid result (which may also hold stray lines or points)."""
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    if not polys:
        raise ValueError("parent has no area")
    return shapely.union_all(polys)


def _sample_inside(geom, count, rng):
    """`count` uniform random points inside `geom` (rejection sampling from its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    out = []
    have = 0
    while have < count:
        pts = rng.uniform((minx, miny), (maxx, maxy), size=(2 * count, 2))
        pts = pts[shapely.contains_xy(geom, pts[:, 0], pts[:, 1])]
        out.append(pts)
        have += len(pts)
    return np.concatenate(out)[:count]


def _kmeans(points, k, rng, rounds=25):
    """Plain Lloyd k-means with k-means++ seeding; returns k sample points near the cluster
    centres (snapped to samples so every site lies inside the parent and its cell is non-empty)."""
    centres = [points[rng.integers(len(points))]]
    d2 = np.sum((points - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        centres.append(points[rng.choice(len(points), p=d2 / d2.sum())])
        d2 = np.minimum(d2, np.sum((points - centres[-1]) ** 2, axis=1))
    centres = np.array(centres)
    label = None
    for _ in range(rounds):
        new_label = np.argmin(_sqdist(points, centres), axis=1)
        if label is not None and np.array_equal(new_label, label):
            break
        label = new_label
        count = np.bincount(label, minlength=k)
        filled = count > 0
        for axis in (0, 1):
            sums = np.bincount(label, weights=points[:, axis], minlength=k)
            centres[filled, axis] = sums[filled] / count[filled]
    # Snap to distinct sample points: a centre of a non-convex region can fall outside it.
    dist = _sqdist(centres, points)
    used = set()
    snapped = []
    for row in dist:
        pick = next(int(i) for i in np.argsort(row, kind="stable") if int(i) not in used)
        used.add(pick)
        snapped.append(points[pick])
    return np.array(snapped)


def _sqdist(a, b):
    """Squared distances between every row of a and every row of b."""
    dx = a[:, 0, None] - b[None, :, 0]
    dy = a[:, 1, None] - b[None, :, 1]
    return dx * dx + dy * dy


def _order_sites(sites):
    """Order sites north-west first in serpentine bands, so consecutive cells (street 1, 2, 3...)
    tend to be neighbours and the numbering reads across the map."""
    n = len(sites)
    bands = max(1, round(math.sqrt(n / 2.0)))
    ymin, ymax = sites[:, 1].min(), sites[:, 1].max()
    height = (ymax - ymin) or 1.0
    band = np.minimum(((ymax - sites[:, 1]) / height * bands).astype(int), bands - 1)
    along = np.where(band % 2 == 0, sites[:, 0], -sites[:, 0])
    return sites[np.lexsort((along, band))]


# --- power diagram -----------------------------------------------------------------------------


def _power_cells(sites, power, box):
    """Convex power cells of all sites inside the rectangle `box`.

    Returns, per site, (vertices (m, 2), labels (m,)) where labels[q] names what produced the
    edge vertices[q] -> vertices[q+1]: the neighbouring site index, or -1..-4 for a box side.
    Empty cells come back with zero vertices.
    """
    x0, y0, x1, y1 = box
    sq = np.sum(sites**2, axis=1)
    cells = []
    for i in range(len(sites)):
        verts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        labels = [-1, -2, -3, -4]
        # Half-plane of site i against j: 2 x.(s_j - s_i) <= |s_j|^2 - |s_i|^2 - w_j + w_i.
        normals = 2.0 * (sites - sites[i])
        offsets = sq - sq[i] - power + power[i]
        # Nearest sites first: they cut the most, so later tests are usually no-ops.
        for j in np.argsort(np.sum((sites - sites[i]) ** 2, axis=1), kind="stable"):
            if j == i:
                continue
            verts, labels = _clip(verts, labels, normals[j], offsets[j], int(j))
            if not verts:
                break
        cells.append((np.array(verts, dtype=float).reshape(-1, 2), np.array(labels, dtype=int)))
    return cells


def _clip(verts, labels, normal, offset, label):
    """Sutherland-Hodgman clip of a convex polygon by normal.x <= offset, tracking edge labels."""
    ax, ay = float(normal[0]), float(normal[1])
    f = [ax * x + ay * y - offset for x, y in verts]
    if max(f) <= 0:
        return verts, labels
    if min(f) > 0:
        return [], []
    out_v, out_l = [], []
    m = len(verts)
    for k in range(m):
        k2 = (k + 1) % m
        fk, fk2 = f[k], f[k2]
        if fk <= 0:
            out_v.append(verts[k])
            out_l.append(labels[k])
            if fk2 > 0:
                out_v.append(_cut(verts[k], verts[k2], fk, fk2))
                out_l.append(label)
        elif fk2 <= 0:
            out_v.append(_cut(verts[k], verts[k2], fk, fk2))
            out_l.append(labels[k])
    return out_v, out_l


def _cut(p, q, fp, fq):
    t = fp / (fp - fq)
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


def _box(local, sites):
    """A rectangle far larger than parent and sites, so box edges never reach the parent."""
    minx, miny, maxx, maxy = local.bounds
    minx, miny = min(minx, sites[:, 0].min()), min(miny, sites[:, 1].min())
    maxx, maxy = max(maxx, sites[:, 0].max()), max(maxy, sites[:, 1].max())
    pad = 2.0 * max(maxx - minx, maxy - miny, 1.0)
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)


class _Diagram:
    """One evaluation of the clipped power diagram: areas, centroids and, on demand, the
    Hessian of the areas with respect to the power weights."""

    def __init__(self, local, sites, power):
        self.local, self.sites, self.power = local, sites, power
        self.cells = _power_cells(sites, power, _box(local, sites))
        polys = [shapely.polygons(v) if len(v) >= 3 else Polygon() for v, _ in self.cells]
        clipped = shapely.intersection(np.array(polys, dtype=object), local)
        self.areas = shapely.area(clipped)
        cent = shapely.get_coordinates(shapely.centroid(clipped), include_z=False)
        self.centroids = sites.copy()
        nonempty = ~shapely.is_empty(clipped)
        self.centroids[nonempty] = cent if len(cent) == nonempty.sum() else sites[nonempty]

    def hessian(self):
        """d(area_i)/d(w_j) = -|e_ij| / (2 |s_i - s_j|) for the shared edge e_ij inside the parent;
        the diagonal makes each row sum to zero (the areas always add up to the parent)."""
        n = len(self.sites)
        segs, pairs = [], []
        for i, (verts, labels) in enumerate(self.cells):
            m = len(verts)
            for q in range(m):
                j = labels[q]
                if j > i:
                    segs.append((verts[q], verts[(q + 1) % m]))
                    pairs.append((i, j))
        h = np.zeros((n, n))
        if not segs:
            return h
        lines = shapely.linestrings(np.array(segs, dtype=float))
        lengths = shapely.length(shapely.intersection(lines, self.local))
        for (i, j), length in zip(pairs, lengths, strict=True):
            if length <= 0:
                continue
            c = length / (2.0 * float(np.linalg.norm(self.sites[i] - self.sites[j])))
            h[i, j] -= c
            h[j, i] -= c
            h[i, i] += c
            h[j, j] += c
        return h


def _error(areas, targets):
    return float(np.max(np.abs(areas - targets) / targets))


def _solve(local, sites, power, targets, iterations):
    """Capacity-constrained Lloyd: damped Newton steps on the power weights (areas -> targets),
    with the sites moved toward their cell centroids while the areas are roughly right."""
    diagram = _Diagram(local, sites, power)
    relax_until = int(iterations * _RELAX_SHARE)
    # Cell size scale: sites have settled once they move less than a small part of it.
    settle = _RELAX_STOP * math.sqrt(float(targets.mean()))
    floor = 0.2 * float(targets.min())
    relaxing = True
    for it in range(iterations):
        err = _error(diagram.areas, targets)
        if it >= relax_until:
            relaxing = False
        if relaxing and err < 0.1:
            shift = diagram.centroids - diagram.sites
            if float(np.max(np.linalg.norm(shift, axis=1))) < settle:
                relaxing = False
            else:
                # With the weights held, a full move can squeeze a cell; back off before giving up.
                for frac in (1.0, 0.5, 0.25):
                    candidate = _Diagram(local, diagram.sites + frac * shift, diagram.power)
                    if candidate.areas.min() > floor:
                        diagram = candidate
                        break
                else:
                    relaxing = False
                if relaxing:
                    continue
        if not relaxing and err < _AREA_TOL:
            break
        diagram = _newton_step(local, diagram, targets, floor)
    return diagram.sites, diagram.power


def _newton_step(local, diagram, targets, floor):
    """One damped Newton step (Kitagawa-Merigot-Thibert): halve the step until no cell shrinks
    below `floor` and the worst area error does not grow."""
    h = diagram.hessian()
    residual = targets - diagram.areas
    # The Hessian is a graph Laplacian (singular along constant shifts); least squares picks the
    # zero-mean update, and a tiny ridge keeps isolated rows harmless.
    ridge = 1e-9 * max(float(np.abs(np.diag(h)).max()), 1e-12)
    delta = np.linalg.lstsq(h + ridge * np.eye(len(h)), residual, rcond=None)[0]
    before = _error(diagram.areas, targets)
    alpha = 1.0
    for _ in range(12):
        trial = _Diagram(local, diagram.sites, diagram.power + alpha * delta)
        if trial.areas.min() > min(floor, diagram.areas.min()) and _error(trial.areas, targets) < before:
            return trial
        alpha /= 2.0
    # No improving step (should not happen with a valid Hessian): fall back to a small
    # diagonal step that just nudges each weight toward its target.
    diag = np.maximum(np.diag(h), 1e-12)
    return _Diagram(local, diagram.sites, diagram.power + 0.1 * residual / diag)


# --- exact cells -------------------------------------------------------------------------------


def _canonical_vertices(cells, sites, power, box):
    """Recompute every cell vertex from the (sorted) labels of the lines that meet there, so the
    two or three cells sharing a vertex get bit-identical coordinates."""
    sq = np.sum(sites**2, axis=1)
    x0, y0, x1, y1 = box
    side = {-1: ("y", y0), -2: ("x", x1), -3: ("y", y1), -4: ("x", x0)}
    cache = {}

    def bisector(i, j):
        # Points x with 2 x.(s_j - s_i) = |s_j|^2 - |s_i|^2 - w_j + w_i, always with i < j.
        return 2.0 * (sites[j] - sites[i]), sq[j] - sq[i] - power[j] + power[i]

    def vertex(i, a, b):
        key = tuple(sorted((i, a, b)))
        if key in cache:
            return cache[key]
        sitelabels = [v for v in key if v >= 0]
        boxlabels = [v for v in key if v < 0]
        if len(boxlabels) >= 2:
            xs = [side[v][1] for v in boxlabels if side[v][0] == "x"]
            ys = [side[v][1] for v in boxlabels if side[v][0] == "y"]
            pt = (xs[0], ys[0])
        elif len(boxlabels) == 1:
            n, c = bisector(sitelabels[0], sitelabels[1])
            axis, value = side[boxlabels[0]]
            if axis == "x":
                pt = (value, (c - n[0] * value) / n[1])
            else:
                pt = ((c - n[1] * value) / n[0], value)
        else:
            p, q, r = key
            n1, c1 = bisector(p, q)
            n2, c2 = bisector(p, r)
            pt = tuple(np.linalg.solve(np.array([n1, n2]), np.array([c1, c2])))
        cache[key] = (float(pt[0]), float(pt[1]))
        return cache[key]

    out = []
    for i, (verts, labels) in enumerate(cells):
        m = len(verts)
        new = np.empty_like(verts)
        for q in range(m):
            a, b = int(labels[q - 1]), int(labels[q])
            try:
                new[q] = vertex(i, a, b) if a != b else verts[q]
            except (np.linalg.LinAlgError, ZeroDivisionError, IndexError):
                new[q] = verts[q]
        out.append((new, labels))
    return out


def _exact_cells(parent, local, frame, sites, power):
    """Cut the parent along the power-diagram edges and collect the faces per site.

    Every shared edge is emitted once (from the lower-numbered cell) with canonical end points,
    noded together with the parent's own boundary and polygonized: the faces then share exact
    edges and exactly tile the parent, with the parent's original coordinates untouched.
    """
    box = _box(local, sites)
    cells = _canonical_vertices(_power_cells(sites, power, box), sites, power, box)
    segs = []
    for i, (verts, labels) in enumerate(cells):
        m = len(verts)
        for q in range(m):
            if labels[q] > i:
                segs.append((verts[q], verts[(q + 1) % m]))
    segs = np.array(segs, dtype=float).reshape(-1, 2, 2)
    lonlat = frame.inverse_xy(segs.reshape(-1, 2)).reshape(-1, 2, 2)
    lines = list(shapely.linestrings(lonlat)) + [parent.boundary]
    noded = shapely.union_all(lines)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    probe = shapely.get_coordinates(shapely.point_on_surface(faces))
    inside = shapely.contains_xy(parent, probe[:, 0], probe[:, 1])
    faces, probe = faces[inside], probe[inside]
    # The site with the smallest power distance owns the face.
    pl = frame.forward_xy(probe)
    dist = _sqdist(pl, sites) - power[None, :]
    owner = np.argmin(dist, axis=1)
    out = []
    for i in range(len(sites)):
        mine = faces[owner == i]
        if len(mine) == 0:
            out.append(Polygon())
            continue
        geom = mine[0] if len(mine) == 1 else shapely.coverage_union_all(mine)
        if not geom.is_valid:
            geom = _polygonal(shapely.make_valid(geom))
        out.append(geom)
    return out


def _absorb_detached(cells):
    """Give every piece of a cell except its largest to the neighbour sharing the longest edge
    with it, so cells stay single Polygons in a non-convex parent. Pieces touching no other cell
    (e.g. an island of a MultiPolygon parent) stay where they are."""
    main = []
    orphans = []
    for i, geom in enumerate(cells):
        parts = list(shapely.get_parts(geom))
        if len(parts) <= 1:
            main.append(geom)
            continue
        parts.sort(key=lambda p: -p.area)
        main.append(parts[0])
        orphans.extend((p, i) for p in parts[1:])
    # Biggest pieces first; a piece touching only other cut-off pieces waits for a later round,
    # when one of those may have joined a cell.
    orphans.sort(key=lambda o: -o[0].area)
    stuck = []
    while orphans:
        progress = False
        remaining = []
        for piece, origin in orphans:
            shared = shapely.length(shapely.intersection(piece.boundary, shapely.boundary(np.array(main))))
            best = int(np.argmax(shared))
            if shared[best] <= 0:
                remaining.append((piece, origin))
                continue
            merged = shapely.coverage_union_all([main[best], piece])
            if not merged.is_valid or merged.geom_type != "Polygon":
                merged = shapely.union_all([main[best], piece])
            main[best] = merged
            progress = True
        if not progress:
            stuck = remaining
            break
        orphans = remaining
    for piece, origin in stuck:
        main[origin] = shapely.union_all([main[origin], piece])
    return main
