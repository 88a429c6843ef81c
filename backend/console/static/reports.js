// Public reports: the filtered, paged list (GET /api/v1/complaints), one report in full
// (GET /api/v1/complaints/{id}) and the form that adds an update
// (POST /api/v1/complaints/{id}/updates), which tells the reporter.

import { ApiError, publicGet, staff } from "./api.js";
import { byId, el, externalLink, facts, fill, options, say } from "./dom.js";
import { codeName, formatTime, lang, localName, t } from "./i18n.js";
import { errorText } from "./messages.js";

const PAGE_SIZE = 20;
const state = { offset: 0, total: 0, results: [], detail: null, categories: [], workflow: null, loaded: false };

export function setup(workflow) {
  state.workflow = workflow.complaints;
  byId("reports-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    state.offset = 0;
    load();
  });
  byId("reports-prev").addEventListener("click", () => page(-1));
  byId("reports-next").addEventListener("click", () => page(1));
  byId("report-detail-close").addEventListener("click", closeDetail);
  byId("report-update-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitUpdate();
  });
  byId("report-update-status").addEventListener("change", noteRequirement);
  loadCategories();
  relabel();
}

async function loadCategories() {
  try {
    const [zh, en] = await Promise.all(
      ["zh", "en"].map((wanted) => publicGet("/open311/v2/services.json", { lang: wanted })),
    );
    const english = new Map(en.map((service) => [service.service_code, service.service_name]));
    state.categories = zh.map((service) => ({
      code: service.service_code,
      name: { zh: service.service_name, en: english.get(service.service_code) || service.service_name },
    }));
  } catch {
    state.categories = [];
  }
  relabelFilters();
}

function relabelFilters() {
  options(byId("reports-status"), [
    ["", t("any")],
    ...state.workflow.statuses.map((status) => [status, codeName("complaint_status", status)]),
  ]);
  options(byId("reports-category"), [
    ["", t("any")],
    ...state.categories.map((category) => [category.code, localName(category.name, category.code)]),
  ]);
  options(byId("reports-overdue"), [
    ["", t("any")],
    ["true", t("overdue_only")],
    ["false", t("not_overdue")],
  ]);
}

/** Redraw everything in the current language, from what was last loaded. */
export function relabel() {
  relabelFilters();
  if (state.loaded) drawList();
  if (state.detail) drawDetail(state.detail);
}

function page(step) {
  const next = state.offset + step * PAGE_SIZE;
  if (next < 0 || next >= state.total) return;
  state.offset = next;
  load();
}

export async function load() {
  const message = byId("reports-message");
  say(message, t("loading"));
  const params = {
    status: byId("reports-status").value,
    category: byId("reports-category").value,
    overdue: byId("reports-overdue").value,
    limit: PAGE_SIZE,
    offset: state.offset,
  };
  try {
    const found = await staff("GET", "/api/v1/complaints", { params });
    state.results = found.results;
    state.total = found.total;
    state.loaded = true;
    say(message, "");
    drawList();
  } catch (error) {
    say(message, errorText(error), "error");
  }
}

function drawList() {
  const body = byId("reports-body");
  const columns = [t("complaint_id"), t("category"), t("status"), t("office"), t("filed"), t("response_due")];
  fill(
    body,
    state.results.map((report) => {
      const cells = [
        openButton(report.complaint_id),
        localName(report.category_name, report.category),
        [codeName("complaint_status", report.status), report.overdue ? el("span", { class: "badge overdue" }, t("overdue")) : null],
        officeName(report),
        formatTime(report.created_at),
        report.response_due,
      ];
      return el(
        "tr",
        { class: report.overdue ? "overdue" : null, dataset: { id: report.complaint_id, status: report.status } },
        cells.map((cell, index) => el(index === 0 ? "th" : "td", { scope: index === 0 ? "row" : null, "data-label": columns[index] }, cell)),
      );
    }),
  );
  if (!state.results.length) {
    fill(body, el("tr", {}, el("td", { colspan: columns.length }, t("nothing_found"))));
  }
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  byId("reports-page").textContent = t("page_of", {
    page: Math.floor(state.offset / PAGE_SIZE) + 1,
    pages,
    total: state.total,
  });
  byId("reports-prev").disabled = state.offset === 0;
  byId("reports-next").disabled = state.offset + PAGE_SIZE >= state.total;
}

function openButton(complaintId) {
  const label = t("open_record", { id: complaintId });
  return el("button", { type: "button", class: "link", "aria-label": label, onclick: () => open(complaintId) }, complaintId);
}

/** The office as it was named on dispatch, in the console's language. */
function officeName(report) {
  return lang() === report.lang ? report.office.department : report.office.department_alt;
}

async function open(complaintId) {
  try {
    const report = await staff("GET", `/api/v1/complaints/${encodeURIComponent(complaintId)}`);
    say(byId("report-update-message"), "");
    byId("report-update-note").value = "";
    drawDetail(report);
    const detail = byId("report-detail");
    detail.hidden = false;
    byId("report-detail-title").focus();
  } catch (error) {
    say(byId("reports-message"), errorText(error), "error");
  }
}

function closeDetail() {
  const shown = state.detail;
  state.detail = null;
  byId("report-detail").hidden = true;
  const row = shown && [...byId("reports-body").rows].find((candidate) => candidate.dataset.id === shown.complaint_id);
  row?.querySelector("button")?.focus();
}

function drawDetail(report) {
  state.detail = report;
  byId("report-detail-id").textContent = report.complaint_id;
  const rating = report.satisfaction
    ? [codeName("rating", report.satisfaction.rating), report.satisfaction.comment ? `: ${report.satisfaction.comment}` : ""].join("")
    : "";
  facts(byId("report-facts"), [
    [t("category"), localName(report.category_name, report.category)],
    [t("request_type"), localName(report.request_type_name, report.request_type)],
    [t("status"), codeName("complaint_status", report.status)],
    [t("response_due"), report.response_due],
    [t("overdue"), report.overdue ? t("yes") : t("no")],
    [t("office"), officeName(report)],
    [t("filed"), formatTime(report.created_at)],
    [t("occurred_at"), formatTime(report.occurred_at)],
    [t("channel"), report.channel],
    [t("round"), String(report.round)],
    [t("satisfaction"), rating],
  ]);
  byId("report-description").textContent = report.description || t("none");
  const place = report.location || {};
  facts(byId("report-location"), [
    [t("region_code"), place.region_code],
    [t("address"), place.address],
    [t("coordinates"), place.lat !== null && place.lat !== undefined ? `${place.lat}, ${place.long}` : ""],
  ]);
  const photos = report.photo_urls || [];
  fill(
    byId("report-photos"),
    photos.length
      ? photos.map((url, index) => el("li", {}, externalLink(url, `${t("photo_n", { n: index + 1 })}: ${url}`)))
      : el("li", {}, t("none")),
  );
  const contact = report.contact;
  if (contact) {
    facts(byId("report-contact"), [
      [t("name"), contact.name],
      [t("phone"), contact.phone],
      [t("email"), contact.email],
    ]);
  } else {
    facts(byId("report-contact"), [[t("contact"), t("anonymous")]]);
  }
  const columns = [t("time"), t("status"), t("note"), t("round")];
  fill(
    byId("report-updates-body"),
    report.updates.map((update) =>
      el(
        "tr",
        {},
        el("td", { "data-label": columns[0] }, formatTime(update.at)),
        el("td", { "data-label": columns[1] }, codeName("complaint_status", update.status)),
        el("td", { "data-label": columns[2] }, update.note),
        el("td", { "data-label": columns[3] }, String(update.round)),
      ),
    ),
  );
  const next = state.workflow.transitions[report.status] || [];
  options(byId("report-update-status"), next.map((status) => [status, codeName("complaint_status", status)]));
  const form = byId("report-update-form");
  for (const control of form.querySelectorAll("select, textarea, button")) control.disabled = next.length === 0;
  byId("report-update-closed").hidden = next.length !== 0;
  noteRequirement();
}

/** Closing a report the office has not answered needs a note: say so before the platform does. */
function noteRequirement() {
  const report = state.detail;
  const note = byId("report-update-note");
  note.required = Boolean(report) && byId("report-update-status").value === "closed" && report.status !== "responded";
}

async function submitUpdate() {
  const report = state.detail;
  if (!report) return;
  const message = byId("report-update-message");
  const status = byId("report-update-status").value;
  const note = byId("report-update-note").value.trim();
  if (!status) {
    say(message, t("choose_status"), "error");
    return;
  }
  if (byId("report-update-note").required && !note) {
    say(message, t("missing_note"), "error");
    byId("report-update-note").focus();
    return;
  }
  const button = byId("report-update-submit");
  button.disabled = true;
  try {
    const updated = await staff("POST", `/api/v1/complaints/${encodeURIComponent(report.complaint_id)}/updates`, {
      body: { status, note },
    });
    byId("report-update-note").value = "";
    drawDetail(updated);
    say(message, t("update_saved"), "ok");
    load();
  } catch (error) {
    if (error instanceof ApiError && error.code === "illegal_transition") {
      await open(report.complaint_id);
      say(byId("report-update-message"), t("illegal_transition_report"), "error");
    } else {
      say(message, errorText(error), "error");
    }
  } finally {
    button.disabled = !(state.workflow.transitions[state.detail?.status] || []).length;
  }
}
