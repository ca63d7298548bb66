// Chart.js (vendor/chart.umd.min.js, pinned in package-lock.json) behind three helpers. Every chart is tracked so
// the router can destroy it on navigation, and its canvas carries data-points (how many values it plots).
const charts = new Set();
const PALETTE = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#7048e8", "#0b7285", "#f59f00"];

export function destroyCharts() { charts.forEach((chart) => chart.destroy()); charts.clear(); }

function make(canvas, config) {
  const Chart = window.Chart;
  if (!Chart) throw new Error("the charting library did not load");
  Chart.defaults.animation = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  const chart = new Chart(canvas, config);
  const points = config.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null && v !== undefined).length, 0);
  canvas.dataset.points = String(points);
  canvas.dataset.chart = config.type;
  charts.add(chart);
  return chart;
}

const colour = (i) => PALETTE[i % PALETTE.length];

export function timeChart(canvas, { labels, datasets, type = "line", stacked = false, yTitle, y2Title, percent = false }) {
  const scales = {
    x: { stacked, grid: { display: false } },
    y: { stacked, beginAtZero: true, title: { display: !!yTitle, text: yTitle },
         ticks: percent ? { callback: (v) => `${Math.round(v * 100)}%` } : { precision: 0 } },
  };
  if (datasets.some((d) => d.yAxisID === "y2")) {
    scales.y2 = { position: "right", beginAtZero: true, grid: { display: false }, title: { display: !!y2Title, text: y2Title },
                  ticks: { precision: 0 } };
  }
  return make(canvas, {
    type,
    data: {
      labels,
      datasets: datasets.map((d, i) => ({
        borderColor: colour(i), backgroundColor: type === "bar" || d.type === "bar" ? colour(i) + "cc" : colour(i) + "33",
        tension: 0.25, pointRadius: 3, spanGaps: true, fill: false, maxBarThickness: 42, ...d,
      })),
    },
    options: { responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
               plugins: { legend: { display: datasets.length > 1, position: "bottom" } }, scales },
  });
}

export function doughnut(canvas, { labels, values }) {
  return make(canvas, {
    type: "doughnut",
    data: { labels, datasets: [{ data: values, backgroundColor: labels.map((_, i) => colour(i)) }] },
    options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
  });
}

export function barChart(canvas, { labels, values, label, horizontal = false }) {
  return make(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label, data: values, backgroundColor: colour(0) + "cc", maxBarThickness: 56 }] },
    options: { indexAxis: horizontal ? "y" : "x", responsive: true, maintainAspectRatio: false,
               plugins: { legend: { display: false } },
               scales: { x: { beginAtZero: true, grid: { display: false } }, y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

// A canvas in a sized box (Chart.js needs a positioned parent to be responsive).
export function chartBox(height = 220) {
  const canvas = document.createElement("canvas");
  const box = document.createElement("div");
  box.className = "chart";
  box.style.height = `${height}px`;
  box.append(canvas);
  return { box, canvas };
}

export const weekLabel = (iso) => new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric" });
