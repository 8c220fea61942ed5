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
