// Applications: the filtered, paged list (GET /api/v1/applications), one application
// with its history (GET /api/v1/applications/{id}) and the form that moves it on
// (POST /api/v1/applications/{id}/transitions), which tells the applicant.

import { ApiError, staff } from "./api.js";
import { byId, el, facts, fill, options, say } from "./dom.js";
import { codeName, formatTime, localName, t } from "./i18n.js";
import { errorText } from "./messages.js";

const PAGE_SIZE = 20;
const state = { offset: 0, total: 0, results: [], detail: null, workflow: null, loaded: false };

export function setup(workflow) {
  state.workflow = workflow.applications;
  byId("applications-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    state.offset = 0;
    load();
  });
  byId("applications-prev").addEventListener("click", () => page(-1));
  byId("applications-next").addEventListener("click", () => page(1));
  byId("application-detail-close").addEventListener("click", closeDetail);
  byId("application-transition-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitTransition();
  });
  relabel();
}

export function relabel() {
  options(byId("applications-status"), [
    ["", t("any")],
    ...state.workflow.statuses.map((status) => [status, codeName("application_status", status)]),
  ]);
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
  const message = byId("applications-message");
  say(message, t("loading"));
  const params = {
    status: byId("applications-status").value,
    service_id: byId("applications-service").value.trim(),
    limit: PAGE_SIZE,
    offset: state.offset,
  };
  try {
    const found = await staff("GET", "/api/v1/applications", { params });
    state.results = found.results;
    state.total = found.total;
    state.loaded = true;
    say(message, "");
    drawList();
  } catch (error) {
    say(message, errorText(error), "error");
  }
}

function statusText(application) {
  return `${codeName("application_status", application.status)} · ${codeName("stage", application.stage)}`;
}

function openButton(applicationId) {
  const label = t("open_record", { id: applicationId });
  return el("button", { type: "button", class: "link", "aria-label": label, onclick: () => open(applicationId) }, applicationId);
}

function drawList() {
  const body = byId("applications-body");
  const columns = [t("application_id"), t("service"), t("status"), t("region"), t("filed"), t("expected_completion")];
  fill(
    body,
    state.results.map((application) => {
      const cells = [
        openButton(application.application_id),
        localName(application.service_name, application.service_id),
        statusText(application),
        application.region_code,
        formatTime(application.created_at),
        application.expected_completion,
      ];
      return el(
        "tr",
        { dataset: { id: application.application_id, status: application.status } },
        cells.map((cell, index) => el(index === 0 ? "th" : "td", { scope: index === 0 ? "row" : null, "data-label": columns[index] }, cell)),
      );
    }),
  );
  if (!state.results.length) {
    fill(body, el("tr", {}, el("td", { colspan: columns.length }, t("nothing_found"))));
  }
  const pages = Math.max(1, Math.ceil(state.total / PAGE_SIZE));
  byId("applications-page").textContent = t("page_of", {
    page: Math.floor(state.offset / PAGE_SIZE) + 1,
    pages,
    total: state.total,
  });
  byId("applications-prev").disabled = state.offset === 0;
  byId("applications-next").disabled = state.offset + PAGE_SIZE >= state.total;
}

async function open(applicationId) {
  try {
    const application = await staff("GET", `/api/v1/applications/${encodeURIComponent(applicationId)}`);
    say(byId("application-transition-message"), "");
    byId("application-transition-note").value = "";
    drawDetail(application);
    byId("application-detail").hidden = false;
    byId("application-detail-title").focus();
  } catch (error) {
    say(byId("applications-message"), errorText(error), "error");
  }
}

function closeDetail() {
  const shown = state.detail;
  state.detail = null;
  byId("application-detail").hidden = true;
  const row = shown && [...byId("applications-body").rows].find((candidate) => candidate.dataset.id === shown.application_id);
  row?.querySelector("button")?.focus();
}

function drawDetail(application) {
  state.detail = application;
  byId("application-detail-id").textContent = application.application_id;
  const applicant = application.applicant || {};
  facts(byId("application-facts"), [
    [t("service"), localName(application.service_name, application.service_id)],
    [t("service_id"), application.service_id],
    [t("status"), codeName("application_status", application.status)],
    [t("stage"), codeName("stage", application.stage)],
    [t("region"), application.region_code],
    [t("delivery"), codeName("delivery", application.delivery)],
    [t("channel"), application.channel],
    [t("filed"), formatTime(application.created_at)],
    [t("expected_completion"), application.expected_completion],
    [t("applicant"), applicant.name],
    [t("id_number"), applicant.id_number],
    [t("phone"), applicant.phone],
    [t("conversation"), application.conversation_id],
  ]);
  const columns = [t("time"), t("status"), t("stage"), t("note")];
  fill(
    byId("application-history-body"),
    application.history.map((entry) =>
      el(
        "tr",
        {},
        el("td", { "data-label": columns[0] }, formatTime(entry.at)),
        el("td", { "data-label": columns[1] }, codeName("application_status", entry.status)),
        el("td", { "data-label": columns[2] }, codeName("stage", entry.stage)),
        el("td", { "data-label": columns[3] }, entry.note),
      ),
    ),
  );
  const next = state.workflow.transitions[application.status] || [];
  options(byId("application-transition-status"), next.map((status) => [status, codeName("application_status", status)]));
  const form = byId("application-transition-form");
  for (const control of form.querySelectorAll("select, textarea, button")) control.disabled = next.length === 0;
  byId("application-transition-closed").hidden = next.length !== 0;
}

async function submitTransition() {
  const application = state.detail;
  if (!application) return;
  const message = byId("application-transition-message");
  const status = byId("application-transition-status").value;
  if (!status) {
    say(message, t("choose_status"), "error");
    return;
  }
  const button = byId("application-transition-submit");
  button.disabled = true;
  try {
    const path = `/api/v1/applications/${encodeURIComponent(application.application_id)}/transitions`;
    const moved = await staff("POST", path, { body: { status, note: byId("application-transition-note").value.trim() } });
    byId("application-transition-note").value = "";
    drawDetail(moved);
    say(message, t("transition_saved"), "ok");
    load();
  } catch (error) {
    if (error instanceof ApiError && error.code === "illegal_transition") {
      await open(application.application_id);
      say(byId("application-transition-message"), t("illegal_transition_application"), "error");
    } else {
      say(message, errorText(error), "error");
    }
  } finally {
    button.disabled = !(state.workflow.transitions[state.detail?.status] || []).length;
  }
}
