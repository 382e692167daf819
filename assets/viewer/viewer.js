// standort's offline viewer: region cells drawn as one image per layer, or scored sites as
// markers, on an equirectangular map (no tiles, no network); a popup per cell or site, the
// top sites.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("standort-data").textContent);
  var G = D.grid, C = D.cells || D.points, n = C.lon.length, grid = !!D.cells;
  var RAMP = D.ramp;  // 256 viridis colours as [r, g, b]
  var EXCLUDED = [158, 158, 158], UNKNOWN = [217, 217, 217];

  // Equirectangular, x stretched by the cosine of the middle latitude.
  var k = Math.cos((G.y0 + G.y1) / 2 * Math.PI / 180);
  var crs = L.extend({}, L.CRS.EPSG4326, {
    transformation: new L.Transformation(k / 180, 1, -1 / 180, 0.5),
    wrapLng: null
  });
  var map = L.map("map", { crs: crs, zoomSnap: 0.25, attributionControl: true, preferCanvas: true });
  var bounds = L.latLngBounds([G.y0, G.x0], [G.y1, G.x1]);
  map.fitBounds(bounds, { padding: [10, 10] });
  map.attributionControl.setPrefix("standort · Leaflet");
  D.attribution.forEach(function (a) { map.attributionControl.addAttribution(a); });

  function colour(v, i) {
    if (C.status[i] === 1) return EXCLUDED;
    if (v === null || v === undefined) return UNKNOWN;
    return RAMP[Math.max(0, Math.min(255, Math.round(v * 255)))];
  }
  var where = null, overlay = null, markers = [];
  if (grid) {
    where = new Int32Array(G.cols * G.rows).fill(-1);
    for (var i = 0; i < n; i++) where[C.index[i]] = i;
  }

  // One image per layer: the total score or a criterion's sub-score.
  function image(values) {
    var canvas = document.createElement("canvas");
    canvas.width = G.cols; canvas.height = G.rows;
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(G.cols, G.rows);
    for (var i = 0; i < n; i++) {
      var rgb = colour(values ? values[i] : C.score[i], i), o = C.index[i] * 4;
      img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return canvas.toDataURL("image/png");
  }
  function paint(values) {
    if (grid) {
      if (overlay) overlay.setUrl(image(values));
      else overlay = L.imageOverlay(image(values), bounds, { interactive: false }).addTo(map);
      return;
    }
    markers.forEach(function (m, i) {
      m.setStyle({ fillColor: "rgb(" + colour(values ? values[i] : C.score[i], i).join(",") + ")" });
    });
  }
  if (!grid) {
    var renderer = L.canvas({ padding: 0.2 });
    var radius = n > 20000 ? 2 : n > 2000 ? 3.5 : 6;
    // Drawn worst first, so that the best lie on top.
    var order = [];
    for (var i = 0; i < n; i++) order.push(i);
    order.sort(function (a, b) { return (C.score[a] === null ? -1 : C.score[a]) - (C.score[b] === null ? -1 : C.score[b]); });
    markers = new Array(n);
    order.forEach(function (i) {
      var m = L.circleMarker([C.lat[i], C.lon[i]], { renderer: renderer, radius: radius, weight: n > 2000 ? 0 : 0.6, color: "#333", fillOpacity: 1 });
      m.on("click", function () { openAt(i); });
      m.on("mouseover", function () { hover(i); });
      markers[i] = m.addTo(map);
    });
  }
  paint(null);

  var lines = function (list, style) {
    list.forEach(function (l) {
      L.polyline(l.map(function (p) { return [p[1], p[0]]; }), style).addTo(map);
    });
  };
  lines(D.basemap.admin1, { color: "#555", weight: 0.7, opacity: 0.6, dashArray: "3 3", interactive: false });
  lines(D.basemap.countries, { color: "#333", weight: 1.1, opacity: 0.9, interactive: false });

  function fmt(v, unit) {
    if (v === null || v === undefined) return "no data";
    if (typeof v === "string") return v;
    return v.toLocaleString("en", { maximumFractionDigits: 3 }) + (unit ? " " + unit : "");
  }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }

  function popup(i) {
    var status = ["ok", "excluded", "unknown"][C.status[i]];
    var h = "<div class='popup'>" + (C.rank[i] ? "rank " + C.rank[i] + " · " : "") + "<b>score " + (C.score[i] === null ? "–" : C.score[i].toFixed(3)) + "</b> · " + status;
    // Longitudes east of 180° (a region across the antimeridian) are shown in [-180, 180).
    h += "<br>" + C.lat[i].toFixed(4) + "°, " + ((C.lon[i] + 540) % 360 - 180).toFixed(4) + "°";
    if (C.reason[i] >= 0) h += "<div class='reasons'>" + esc(D.reasons[C.reason[i]]) + "</div>";
    h += "<table><tr><td></td><td class='n'>value</td><td class='n'>sub-score</td><td>source</td></tr>";
    D.criteria.forEach(function (c, j) {
      var s = C.source[j][i], src = s >= 0 ? c.sources[s] : null;
      var unit = src ? src.unit : c.unit;
      var sub = C.sub[j][i];
      h += "<tr><td>" + esc(c.id) + (c.weight > 0 ? "" : " (w 0)") + "</td><td class='n'>" + esc(fmt(C.raw[j][i], unit)) +
        "</td><td class='n'>" + (sub === null ? "–" : sub.toFixed(3)) + "</td><td>" + (src && c.sources.length > 1 ? esc(src.layer) : "") + "</td></tr>";
    });
    return h + "</table></div>";
  }
  // The cell under a point, or the site nearest it.
  function cellAt(latlng) {
    if (!grid) {
      var best = -1, d = Infinity;
      for (var i = 0; i < n; i++) {
        var dx = C.lon[i] - latlng.lng, dy = C.lat[i] - latlng.lat, e = dx * dx + dy * dy;
        if (e < d) { d = e; best = i; }
      }
      return best;
    }
    var col = Math.floor((latlng.lng - G.x0) / G.cell), row = Math.floor((G.y1 - latlng.lat) / G.cell);
    if (col < 0 || row < 0 || col >= G.cols || row >= G.rows) return -1;
    return where[row * G.cols + col];
  }
  function openAt(i) {
    if (i >= 0) L.popup({ maxWidth: 420 }).setLatLng([C.lat[i], C.lon[i]]).setContent(popup(i)).openOn(map);
  }
  if (grid) map.on("click", function (e) { openAt(cellAt(e.latlng)); });

  var info = L.control({ position: "topright" });
  info.onAdd = function () { this._div = L.DomUtil.create("div", "info"); this._div.innerHTML = grid ? "hover a cell" : "hover a site"; return this._div; };
  info.addTo(map);
  function hover(i) {
    info._div.innerHTML = i < 0 ? "outside the region" :
      (C.rank[i] ? "rank " + C.rank[i] + " · " : "") +
      "score <b>" + (C.score[i] === null ? "–" : C.score[i].toFixed(3)) + "</b> · " + ["ok", "excluded", "unknown"][C.status[i]] +
      (C.reason[i] >= 0 ? "<br>" + esc(D.reasons[C.reason[i]]) : "");
  }
  if (grid) map.on("mousemove", function (e) { hover(cellAt(e.latlng)); });

  D.top.forEach(function (t) {
    var m = L.marker([t.lat, t.lon], { icon: L.divIcon({ className: "rank-label", html: String(t.rank) }) }).addTo(map);
    m.on("click", function () { openAt(cellAt(L.latLng(t.lat, t.lon))); });
  });

  // The panel: layer switch, legend, top sites.
  var sel = document.getElementById("layer");
  D.criteria.forEach(function (c, j) {
    var o = document.createElement("option");
    o.value = j; o.textContent = "sub-score: " + (c.label || c.id) + (c.weight > 0 ? " (weight " + c.weight.toFixed(2) + ")" : " (weight 0)");
    sel.appendChild(o);
  });
  sel.addEventListener("change", function () {
    paint(sel.value === "total" ? null : C.sub[+sel.value]);
  });
  var stops = [];
  for (var s = 0; s <= 8; s++) { var c = RAMP[s * 32 - (s === 8 ? 1 : 0)]; stops.push("rgb(" + c.join(",") + ")"); }
  document.getElementById("ramp").style.background = "linear-gradient(to right," + stops.join(",") + ")";
  var rows = document.getElementById("top-rows");
  D.top.forEach(function (t) {
    var tr = document.createElement("tr");
    tr.innerHTML = "<td>" + t.rank + "</td><td>" + t.score.toFixed(3) + "</td><td>" + t.lat.toFixed(3) + "</td><td>" + t.lon.toFixed(3) + "</td>";
    tr.addEventListener("click", function () { map.setView([t.lat, t.lon], Math.max(map.getZoom(), 7)); });
    rows.appendChild(tr);
  });
  // A link may name a layer and a place: #layer=grid_distance&at=51.6,7.46
  var hash = {};
  location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
    var p = kv.split("="); if (p[0]) hash[p[0]] = decodeURIComponent(p[1] || "");
  });
  if (hash.layer) {
    D.criteria.forEach(function (c, j) { if (c.id === hash.layer) sel.value = String(j); });
    sel.dispatchEvent(new Event("change"));
  }
  if (hash.at) {
    var ll = hash.at.split(",").map(Number);
    openAt(cellAt(L.latLng(ll[0], ll[1])));
  }
  document.body.setAttribute("data-status", "ready");
})();
