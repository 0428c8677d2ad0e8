/*
 * Case maps: pick the point of a new case, or show a case's point. Plain ES2017 with no build step;
 * needs Leaflet (global L) to load first. No base tiles unless data-tiles names a tile URL.
 *
 * Pick (the report form): a click or tap anywhere puts the point there and fills the two inputs;
 * typing in the inputs moves it; the button with data-locate-for="case-map" (shown where the browser
 * can tell its position) uses the device's position.
 *
 *   <div id="case-map" data-mode="pick"
 *        data-grids-url="/api/v1/grids?format=geojson"      grids drawn as the background (required)
 *        data-boundary-url="..."                            district outline (optional)
 *        data-lng-input="id_lng" data-lat-input="id_lat"></div>
 *
 * Show (a case's page):
 *
 *   <div id="case-map" data-mode="show" data-lng="120.3" data-lat="36.05"
 *        data-grid-url="/api/v1/grids/370203005011001?format=geojson"></div>   grid outline (optional)
 *
 * Optional: data-tiles, data-error-text. When it finishes, the element gets data-state="ready"
 * (or "error"); the Leaflet map is window.anjuCaseMap.
 */
(function () {
  'use strict';

  const POINT_STYLE = { radius: 9, color: '#8f1c13', weight: 2, fillColor: '#e5484d', fillOpacity: 0.9 };
  const GRID_STYLE = { color: '#2f6fb0', weight: 1, opacity: 0.9, fillColor: '#8fb7e3', fillOpacity: 0.25 };
  const BOUNDARY_STYLE = { color: '#1f3a5f', weight: 3, fill: false, interactive: false };
  const FIT_OPTIONS = { padding: [12, 12], maxZoom: 18 };
  // Without a grid to fit, a lone point is shown at street level.
  const POINT_ZOOM = 17;

  async function fetchJSON(url) {
    const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/geo+json, application/json' } });
    if (!response.ok) throw new Error('HTTP ' + response.status + ' (' + url + ')');
    return response.json();
  }

  function showError(el, message, err) {
    const box = document.createElement('div');
    box.className = 'alert alert-error';
    box.setAttribute('role', 'alert');
    box.textContent = message + (err && err.message ? ': ' + err.message : '');
    el.parentNode.insertBefore(box, el);
    el.setAttribute('data-state', 'error');
  }

  function boundsOf(layer) {
    const b = layer && layer.getBounds();
    return b && b.isValid() ? b : null;
  }

  function number(value) {
    const n = parseFloat(String(value || '').trim());
    return Number.isFinite(n) ? n : null;
  }

  function newMap(el) {
    const tiles = (el.dataset.tiles || '').trim();
    const map = L.map(el, { zoomSnap: tiles ? 1 : 0.25 });
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    window.anjuCaseMap = map;
    return map;
  }

  function gridLayer(data) {
    return L.geoJSON(data, {
      style: GRID_STYLE,
      onEachFeature: function (feature, layer) {
        const props = feature.properties || {};
        if (props.name) layer.bindTooltip(String(props.name), { sticky: true, direction: 'top' });
      },
    });
  }

  async function pick(el) {
    const map = newMap(el);
    const lngInput = document.getElementById(el.dataset.lngInput);
    const latInput = document.getElementById(el.dataset.latInput);
    let marker = null;

    function place(lng, lat, fromInputs) {
      if (marker) marker.setLatLng([lat, lng]);
      else marker = L.circleMarker([lat, lng], POINT_STYLE).addTo(map);
      if (!fromInputs) {
        lngInput.value = lng.toFixed(6);
        latInput.value = lat.toFixed(6);
      }
      el.setAttribute('data-picked', lng.toFixed(6) + ',' + lat.toFixed(6));
    }

    // Grid polygons pass their clicks on to the map, so a click anywhere places the point.
    map.on('click', function (e) { place(e.latlng.lng, e.latlng.lat, false); });
    function fromInputs() {
      const lng = number(lngInput.value);
      const lat = number(latInput.value);
      if (lng !== null && lat !== null) {
        place(lng, lat, true);
        map.panTo([lat, lng]);
      }
    }
    lngInput.addEventListener('change', fromInputs);
    latInput.addEventListener('change', fromInputs);

    const locate = document.querySelector('[data-locate-for="' + el.id + '"]');
    if (locate && navigator.geolocation && window.isSecureContext) {
      locate.hidden = false;
      locate.addEventListener('click', function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          place(pos.coords.longitude, pos.coords.latitude, false);
          map.setView([pos.coords.latitude, pos.coords.longitude], POINT_ZOOM);
        }, function () { locate.disabled = true; }, { enableHighAccuracy: true, timeout: 15000 });
      });
    }

    const [boundary, grids] = await Promise.all([
      el.dataset.boundaryUrl ? fetchJSON(el.dataset.boundaryUrl) : Promise.resolve(null),
      fetchJSON(el.dataset.gridsUrl),
    ]);
    const gridsLayer = gridLayer(grids);
    const boundaryLayer = boundary ? L.geoJSON(boundary, { style: BOUNDARY_STYLE, interactive: false }) : null;
    const bounds = boundsOf(gridsLayer) || boundsOf(boundaryLayer);
    if (bounds) map.fitBounds(bounds, FIT_OPTIONS);
    else map.setView([0, 0], 2);
    gridsLayer.addTo(map);
    if (boundaryLayer) boundaryLayer.addTo(map);
    fromInputs();  // a form sent back with its point keeps it
    el.setAttribute('data-drawn', String((grids.features || []).length));
  }

  async function show(el) {
    const map = newMap(el);
    const lng = number(el.dataset.lng);
    const lat = number(el.dataset.lat);
    const grid = el.dataset.gridUrl ? gridLayer(await fetchJSON(el.dataset.gridUrl)) : null;
    const bounds = boundsOf(grid);
    if (bounds) {
      bounds.extend([lat, lng]);
      map.fitBounds(bounds, FIT_OPTIONS);
      grid.addTo(map);
    } else {
      map.setView([lat, lng], POINT_ZOOM);
    }
    L.circleMarker([lat, lng], POINT_STYLE).addTo(map);
  }

  async function init() {
    const el = document.getElementById('case-map');
    if (!el || el._leaflet_id) return;
    const errorText = el.dataset.errorText || '地图数据加载失败';
    if (typeof L === 'undefined') {
      showError(el, errorText, new Error('Leaflet (L) is not loaded'));
      return;
    }
    el.setAttribute('data-state', 'loading');
    try {
      await (el.dataset.mode === 'pick' ? pick(el) : show(el));
      el.setAttribute('data-state', 'ready');
    } catch (err) {
      showError(el, errorText, err);
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
