// bench/charts_compare.py's other way of drawing the app's two charts: uPlot
// (node_modules/uplot) on a canvas, from the same numbers as JSON in
// <script type="application/json" id="bench-chart-data">. Bench only: the
// app draws these charts as SVG on the server.
(function () {
  "use strict";
  var holder = document.getElementById("bench-chart");
  var data = JSON.parse(document.getElementById("bench-chart-data").textContent);
  var width = holder.clientWidth;
  function done() {
    holder.dataset.drawn = "1";
  }
  holder.setAttribute("role", "img");
  holder.setAttribute("aria-label", data.summary);

  if (data.kind === "reports") {
    var x = data.labels.map(function (_, i) { return i; });
    var bars = uPlot.paths.bars({ size: [0.8, Infinity] });
    new uPlot(
      {
        width: width,
        height: Math.round((width * 216) / 480),
        scales: { x: { time: false }, y: { range: [0, 100] } },
        axes: [
          { values: function (u, ticks) { return ticks.map(function (t) { return data.labels[t] || ""; }); } },
          { values: function (u, ticks) { return ticks.map(function (t) { return t + "%"; }); } },
        ],
        series: [
          { label: "Week", value: function (u, i) { return i == null ? "" : data.labels[i]; } },
          { label: "Fetched at all", paths: bars, fill: "#5e9c85", stroke: "#5e9c85", points: { show: false } },
          { label: "Opened by a person", paths: bars, fill: "#0b3b2a", stroke: "#0b3b2a", points: { show: false } },
          { label: "Replied", stroke: "#b54708", width: 2, points: { show: true, size: 8, fill: "#b54708" } },
        ],
        hooks: { draw: [done] },
      },
      [x, data.fetched, data.opened, data.replied],
      holder
    );
    return;
  }

  // The reading-times grid: 7 days x 24 hours, each cell shaded by its count.
  var shades = ["#eef1f4", "#4a9478", "#2f7d60", "#145c43", "#0b3b2a"]; // the app's .shade-0 to .shade-4
  function cells(u) {
    var ctx = u.ctx;
    var pitchX = u.bbox.width / 24, pitchY = u.bbox.height / 7;
    for (var day = 0; day < 7; day++) {
      for (var hour = 0; hour < 24; hour++) {
        ctx.fillStyle = shades[data.shade[day][hour]];
        ctx.fillRect(u.bbox.left + hour * pitchX, u.bbox.top + day * pitchY, pitchX * 0.86, pitchY * 0.86);
      }
    }
  }
  new uPlot(
    {
      width: width,
      height: Math.round((width * 114) / 372) + 40, // the axes' room
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [0, 24] }, y: { range: [0, 7], dir: -1 } },
      axes: [
        { side: 0, splits: function () { return [0, 3, 6, 9, 12, 15, 18, 21]; } },
        {
          splits: function () { return [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5]; },
          values: function (u, splits) { return splits.map(function (t) { return data.days[Math.floor(t)]; }); },
        },
      ],
      series: [{}, { paths: function () { return null; }, points: { show: false } }],
      hooks: { draw: [cells, done] },
    },
    [[0, 24], [0, 7]],
    holder
  );
})();
