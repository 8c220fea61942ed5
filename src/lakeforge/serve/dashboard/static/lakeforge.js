// Draws the dashboard's charts from the JSON each page embeds (Chart.js, vendored).
(function () {
  "use strict";
  var holder = document.getElementById("chart-data");
  if (!holder || typeof Chart === "undefined") { return; }
  var data = JSON.parse(holder.textContent);
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#64748b";
  function done(canvas) { canvas.setAttribute("data-rendered", "true"); }
  var base = {
    responsive: true, maintainAspectRatio: false, animation: false,
    plugins: { legend: { position: "bottom" } },
  };
  // History (line), forecast (dashed) and interval bands (filled between lo and hi).
  function forecastChart(d) {
    var hist = d.history || [], fc = d.forecast || [];
    var labels = hist.map(function (p) { return p.ds.slice(0, 10); })
      .concat(fc.map(function (p) { return String(p.ds).slice(0, 10); }));
    var pad = function (n) { var a = []; for (var i = 0; i < n; i++) { a.push(null); } return a; };
    var sets = [];
    var shades = ["rgba(14,165,233,0.30)", "rgba(14,165,233,0.15)"];
    (d.levels || []).slice().sort(function (a, b) { return a - b; }).forEach(function (lv, n) {
      var lo = pad(hist.length).concat(fc.map(function (p) { return p["lo_" + lv]; }));
      var hi = pad(hist.length).concat(fc.map(function (p) { return p["hi_" + lv]; }));
      var colour = shades[Math.min(n, shades.length - 1)];
      sets.push({ label: lv + "% low", data: lo, borderWidth: 0, pointRadius: 0, fill: false });
      sets.push({ label: lv + "% interval", data: hi, borderWidth: 0, pointRadius: 0,
                  backgroundColor: colour, fill: "-1" });
    });
    sets.push({ label: "history", data: hist.map(function (p) { return p.y; }).concat(pad(fc.length)),
                borderColor: "#334155", borderWidth: 1.5, pointRadius: 0 });
    sets.push({ label: "forecast", data: pad(hist.length).concat(fc.map(function (p) { return p.forecast; })),
                borderColor: "#0ea5e9", borderDash: [6, 4], borderWidth: 2, pointRadius: 0 });
    return {
      type: "line",
      data: { labels: labels, datasets: sets },
      options: Object.assign({}, base, {
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { filter: function (item) {
          return item.text.indexOf("low") < 0; } } } },
        scales: { x: { grid: { display: false }, ticks: { maxTicksLimit: 12 } }, y: { beginAtZero: true } },
      }),
    };
  }
  document.querySelectorAll("canvas.lf-chart").forEach(function (canvas) {
    var kind = canvas.getAttribute("data-kind");
    var config;
    if (kind === "history") {
      config = {
        type: "bar",
        data: { labels: data.labels, datasets: [
          { label: "written", data: data.written, backgroundColor: "#0ea5e9", borderRadius: 4 },
          { label: "quarantined", data: data.quarantined, backgroundColor: "#f97316", borderRadius: 4 },
        ] },
        options: Object.assign({}, base, { scales: { x: { stacked: true, grid: { display: false } },
                                                     y: { stacked: true, beginAtZero: true } } }),
      };
    } else if (kind === "forecast") {
      config = forecastChart(data);
    } else {
      config = {
        type: "bar",
        data: { labels: data.labels, datasets: [
          { label: "rows", data: data.rows, backgroundColor: "#0ea5e9", borderRadius: 4 },
        ] },
        options: Object.assign({}, base, { indexAxis: "y", plugins: { legend: { display: false } },
                                           scales: { x: { beginAtZero: true }, y: { grid: { display: false } } } }),
      };
    }
    new Chart(canvas, config);
    done(canvas);
  });
})();
