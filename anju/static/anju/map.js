/*
 * Anju grid map. Plain ES2017 with no build step. Needs Leaflet (global L) to load first:
 *
 *   <link rel="stylesheet" href="{% static 'vendor/leaflet/leaflet.css' %}">
 *   <script src="{% static 'vendor/leaflet/leaflet.js' %}"></script>
 *   <script src="{% static 'anju/map.js' %}"></script>
 *
 * District map:
 *   <div id="map"
 *        data-grids-url="/api/grids.geojson"          GeoJSON FeatureCollection of grids (required)
 *        data-boundary-url="/api/boundary.geojson"    district outline (optional)
 *        data-tiles=""                                tile URL template; empty or missing = no base layer
 *        data-legend="已绘制 {n} 个网格"></div>       legend text, {n} = number of grids drawn
 *
 * Single grid:
 *   <div id="map" class="map-small" data-grid-url="/api/grids/123.geojson"></div>
 *
 * Grid feature properties used: code, name, community_name, households, url
 * (and community_code if present; it picks the colour).
 *
 * Optional attributes: data-tiles-attribution, data-households-label (default "户数"),
 * data-error-text (default "地图数据加载失败").
 * When it finishes, #map gets data-state="ready" (or "error") and data-drawn="<count>".
 * The Leaflet map is stored on window.anjuMap.
 */
(function () {
  'use strict';

  const DEFAULT_LEGEND = '已绘制 {n} 个网格';
  const DEFAULT_HOUSEHOLDS_LABEL = '户数';
  const DEFAULT_ERROR_TEXT = '地图数据加载失败';
  const FIT_OPTIONS = { padding: [12, 12], maxZoom: 18 };

  // FNV-1a 32-bit string hash: gives each community the same hue on every page load.
  function hashString(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
  }

  function communityKey(props) {
    return String(props.community_code || props.community_name || props.code || '');
  }

  function hueFor(props) {
    // Multiplying by the golden angle spreads nearby hash values far apart on the colour wheel.
    return Math.round((hashString(communityKey(props)) * 137.508) % 360);
  }

  function gridStyle(feature) {
    const hue = hueFor((feature && feature.properties) || {});
    return {
      color: 'hsl(' + hue + ', 45%, 38%)',
      weight: 1,
      opacity: 0.9,
      fillColor: 'hsl(' + hue + ', 65%, 72%)',
      fillOpacity: 0.35,
    };
  }

  function highlightStyle(feature) {
    const hue = hueFor((feature && feature.properties) || {});
    return {
      color: 'hsl(' + hue + ', 60%, 25%)',
      weight: 3,
      opacity: 1,
      fillOpacity: 0.6,
    };
  }

  const BOUNDARY_STYLE = {
    color: '#1f3a5f',
    weight: 4,
    opacity: 0.9,
    fill: false,
    fillOpacity: 0,
    interactive: false,
  };

  function escapeHtml(value) {
    return String(value === null || value === undefined ? '' : value)
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;');
  }

  function tooltipHtml(props, householdsLabel) {
    let html = '<strong>' + escapeHtml(props.name || props.code || '') + '</strong>';
    if (props.community_name) {
      html += '<br><span class="muted">' + escapeHtml(props.community_name) + '</span>';
    }
    if (props.households !== null && props.households !== undefined && props.households !== '') {
      html += '<br>' + escapeHtml(householdsLabel) + ': ' + escapeHtml(props.households);
    }
    return html;
  }

  async function fetchJSON(url) {
    const response = await fetch(url, {
      credentials: 'same-origin',
      headers: { Accept: 'application/geo+json, application/json' },
    });
    if (!response.ok) {
      throw new Error('HTTP ' + response.status + ' ' + (response.statusText || '') + ' (' + url + ')');
    }
    return response.json();
  }

  function showError(el, message, err) {
    const box = document.createElement('div');
    box.className = 'alert alert-error';
    box.setAttribute('role', 'alert');
    box.textContent = message + (err && err.message ? ': ' + err.message : '');
    const parent = el.parentNode || document.body;
    parent.insertBefore(box, el.parentNode ? el : null);
    el.setAttribute('data-state', 'error');
    if (window.console && err) {
      console.error('[anju map]', message, err);
    }
  }

  function addLegend(map, template, count) {
    const legend = L.control({ position: 'bottomright' });
    legend.onAdd = function () {
      const div = L.DomUtil.create('div', 'map-legend');
      div.textContent = template.split('{n}').join(String(count));
      return div;
    };
    legend.addTo(map);
    return legend;
  }

  function countFeatures(geojson) {
    if (!geojson) return 0;
    if (geojson.type === 'FeatureCollection') return (geojson.features || []).length;
    return 1;
  }

  function boundsOf(layer) {
    if (!layer) return null;
    const b = layer.getBounds();
    return b && b.isValid() ? b : null;
  }

  async function init() {
    const el = document.getElementById('map');
    if (!el || el._leaflet_id) return null;

    const ds = el.dataset;
    const gridsUrl = ds.gridsUrl || '';
    const gridUrl = ds.gridUrl || '';
    const boundaryUrl = ds.boundaryUrl || '';
    const tiles = (ds.tiles || '').trim();
    const errorText = ds.errorText || DEFAULT_ERROR_TEXT;
    const householdsLabel = ds.householdsLabel || DEFAULT_HOUSEHOLDS_LABEL;

    if (!gridsUrl && !gridUrl) return null;
    if (typeof L === 'undefined') {
      showError(el, errorText, new Error('Leaflet (L) is not loaded'));
      return null;
    }

    el.setAttribute('data-state', 'loading');
    const map = L.map('map', {preferCanvas: true});
    // With no tiles, fractional zoom lets fitBounds fill the box; with tiles, keep whole zoom
    // levels so the tiles stay sharp.
    map.options.zoomSnap = tiles ? 1 : 0.25;
    window.anjuMap = map;

    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: ds.tilesAttribution || '' }).addTo(map);
    }

    // The boundary goes in its own pane, above the grids, and ignores the mouse,
    // so hovering and clicking still reach the grids under its outline.
    const boundaryPane = map.createPane('anjuBoundary');
    boundaryPane.style.zIndex = 450;
    boundaryPane.style.pointerEvents = 'none';

    let failed = false;
    const load = function (url) {
      if (!url) return Promise.resolve(null);
      return fetchJSON(url).catch(function (err) {
        failed = true;
        showError(el, errorText, err);
        return null;
      });
    };

    const results = await Promise.all([load(boundaryUrl), load(gridUrl || gridsUrl)]);
    const boundaryData = results[0];
    const gridData = results[1];

    let boundaryLayer = null;
    if (boundaryData) {
      boundaryLayer = L.geoJSON(boundaryData, {
        style: BOUNDARY_STYLE,
        pane: 'anjuBoundary',
        interactive: false,
      });
    }

    const single = Boolean(gridUrl);
    let gridLayer = null;
    let drawn = 0;
    if (gridData) {
      gridLayer = L.geoJSON(gridData, {
        style: gridStyle,
        onEachFeature: function (feature, layer) {
          const props = feature.properties || {};
          layer.bindTooltip(tooltipHtml(props, householdsLabel), {
            sticky: true,
            direction: 'top',
            className: 'grid-tooltip',
          });
          layer.on('mouseover', function () {
            layer.setStyle(highlightStyle(feature));
            if (layer.bringToFront) layer.bringToFront();
          });
          layer.on('mouseout', function () {
            gridLayer.resetStyle(layer);
          });
          if (!single && props.url) {
            layer.on('click', function () {
              window.location.href = props.url;
            });
          }
        },
      });
      drawn = countFeatures(gridData);
    }

    // Set the view before adding the layers; with no tile layer nothing else would set it.
    const bounds = boundsOf(gridLayer) || boundsOf(boundaryLayer);
    if (bounds) {
      map.fitBounds(bounds, FIT_OPTIONS);
    } else {
      map.setView([0, 0], 2);
    }
    if (gridLayer) gridLayer.addTo(map);
    if (boundaryLayer) boundaryLayer.addTo(map);

    if (!single && gridData) {
      addLegend(map, ds.legend || DEFAULT_LEGEND, drawn);
    }

    el.setAttribute('data-drawn', String(drawn));
    if (!failed) el.setAttribute('data-state', 'ready');
    return map;
  }

  window.AnjuMap = { init: init, hueFor: hueFor };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(); });
  } else {
    init();
  }
})();
