// standort's offline viewer: region cells drawn as one image per layer on an
// equirectangular map (no tiles, no network), a popup per cell, the top sites.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("standort-data").textContent);
  var G = D.grid, C = D.cells, n = C.index.length;
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

  var where = new Int32Array(G.cols * G.rows).fill(-1);
  for (var i = 0; i < n; i++) where[C.index[i]] = i;

  // One image per layer: the total score or a criterion's sub-score.
  function image(values) {
    var canvas = document.createElement("canvas");
    canvas.width = G.cols; canvas.height = G.rows;
    var ctx = canvas.getContext("2d");
    var img = ctx.createImageData(G.cols, G.rows);
    for (var i = 0; i < n; i++) {
      var cell = C.index[i], col = cell % G.cols, row = (cell - col) / G.cols;
      var v = values ? values[i] : C.score[i], rgb;
      if (C.status[i] === 1) rgb = EXCLUDED;
      else if (v === null || v === undefined) rgb = UNKNOWN;
      else rgb = RAMP[Math.max(0, Math.min(255, Math.round(v * 255)))];
      var o = cell * 4;
      img.data[o] = rgb[0]; img.data[o + 1] = rgb[1]; img.data[o + 2] = rgb[2]; img.data[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    return canvas.toDataURL("image/png");
  }
  var overlay = L.imageOverlay(image(null), bounds, { interactive: false }).addTo(map);

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
    var h = "<div class='popup'><b>score " + (C.score[i] === null ? "–" : C.score[i].toFixed(3)) + "</b> · " + status;
    h += "<br>" + C.lat[i].toFixed(4) + "°, " + C.lon[i].toFixed(4) + "°";
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
  function cellAt(latlng) {
    var col = Math.floor((latlng.lng - G.x0) / G.cell), row = Math.floor((G.y1 - latlng.lat) / G.cell);
    if (col < 0 || row < 0 || col >= G.cols || row >= G.rows) return -1;
    return where[row * G.cols + col];
  }
  map.on("click", function (e) {
    var i = cellAt(e.latlng);
    if (i >= 0) L.popup({ maxWidth: 420 }).setLatLng([C.lat[i], C.lon[i]]).setContent(popup(i)).openOn(map);
  });

  var info = L.control({ position: "topright" });
  info.onAdd = function () { this._div = L.DomUtil.create("div", "info"); this._div.innerHTML = "hover a cell"; return this._div; };
  info.addTo(map);
  map.on("mousemove", function (e) {
    var i = cellAt(e.latlng);
    info._div.innerHTML = i < 0 ? "outside the region" :
      "score <b>" + (C.score[i] === null ? "–" : C.score[i].toFixed(3)) + "</b> · " + ["ok", "excluded", "unknown"][C.status[i]] +
      (C.reason[i] >= 0 ? "<br>" + esc(D.reasons[C.reason[i]]) : "");
  });

  D.top.forEach(function (t) {
    var m = L.marker([t.lat, t.lon], { icon: L.divIcon({ className: "rank-label", html: String(t.rank) }) }).addTo(map);
    m.on("click", function () {
      var i = cellAt(L.latLng(t.lat, t.lon));
      if (i >= 0) L.popup({ maxWidth: 420 }).setLatLng([t.lat, t.lon]).setContent(popup(i)).openOn(map);
    });
  });

  // The panel: layer switch, legend, top sites.
  var sel = document.getElementById("layer");
  D.criteria.forEach(function (c, j) {
    var o = document.createElement("option");
    o.value = j; o.textContent = "sub-score: " + (c.label || c.id) + (c.weight > 0 ? " (weight " + c.weight.toFixed(2) + ")" : " (weight 0)");
    sel.appendChild(o);
  });
  sel.addEventListener("change", function () {
    overlay.setUrl(image(sel.value === "total" ? null : C.sub[+sel.value]));
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
    var ll = hash.at.split(",").map(Number), i = cellAt(L.latLng(ll[0], ll[1]));
    if (i >= 0) L.popup({ maxWidth: 420 }).setLatLng([C.lat[i], C.lon[i]]).setContent(popup(i)).openOn(map);
  }
  document.body.setAttribute("data-status", "ready");
})();
