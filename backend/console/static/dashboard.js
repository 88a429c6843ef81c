// The dashboard: GET /api/v1/stats?days=N drawn as figures and bar charts. How each
// figure is counted is said on the page and in backend/console/stats.py.

import { staff } from "./api.js";
import { barChart } from "./charts.js";
import { byId, say } from "./dom.js";
import { codeName, formatRate, localName, t } from "./i18n.js";
import { errorText } from "./messages.js";

const state = { stats: null };

export function setup() {
  byId("dashboard-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  byId("dashboard-period").addEventListener("change", load);
  relabel();
}

export function relabel() {
  for (const option of byId("dashboard-period").options) option.textContent = t("last_days", { days: option.value });
  if (state.stats) draw(state.stats);
}

export async function load() {
  const message = byId("dashboard-message");
  say(message, t("loading"));
  try {
    state.stats = await staff("GET", "/api/v1/stats", { params: { days: byId("dashboard-period").value } });
    say(message, "");
    draw(state.stats);
  } catch (error) {
    say(message, errorText(error), "error");
  }
}

function chart(id, bars, title, format) {
  barChart(byId(id).querySelector("svg"), bars, { title, empty: t("no_data"), format });
}

function draw(stats) {
  const reports = stats.complaints;
  byId("dashboard-range").textContent = t("range", { from: stats.from, to: stats.to });
  byId("stat-reports-total").textContent = String(reports.total);
  const response = reports.response;
  const judged = response.on_time + response.late + response.overdue;
  byId("stat-on-time-rate").textContent = t("rate_of", { rate: formatRate(response.on_time_rate), count: judged });
  const rated = reports.satisfaction;
  byId("stat-satisfaction-rate").textContent = t("rate_of", { rate: formatRate(rated.rate), count: rated.rated });
  byId("stat-applications-total").textContent = String(stats.applications.total);
  chart(
    "chart-category",
    reports.by_category.map((entry) => ({ label: localName(entry.name, entry.category), value: entry.count })),
    t("chart_category"),
  );
  chart(
    "chart-region",
    reports.by_region.map((entry) => ({ label: localName(entry.name, entry.region_code || ""), value: entry.count })),
    t("chart_region"),
  );
  const tones = { on_time: "good", late: "warn", overdue: "bad", pending: "neutral" };
  chart(
    "chart-response",
    Object.keys(tones).map((outcome) => ({ label: codeName("outcome", outcome), value: response[outcome], tone: tones[outcome] })),
    t("chart_response"),
  );
  const ratingTones = { satisfied: "good", basically_satisfied: "neutral", dissatisfied: "bad" };
  chart(
    "chart-satisfaction",
    Object.keys(ratingTones).map((rating) => ({ label: codeName("rating", rating), value: rated[rating], tone: ratingTones[rating] })),
    t("chart_satisfaction"),
  );
  chart(
    "chart-applications",
    stats.applications.by_status.map((entry) => ({
      label: `${codeName("application_status", entry.status)} · ${codeName("stage", entry.stage)}`,
      value: entry.count,
    })),
    t("chart_applications"),
  );
}
