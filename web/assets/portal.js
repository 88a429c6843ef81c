// The citizen portal at GET /: search over the catalogue (GET /api/v1/services), popular
// services, life events, the zh/en switch, and the chat widget (chat.js).

import { h } from "./dom.js";
import { icon } from "./icons.js";
import { label, language, loadLabels, setLanguage, t, translatePage } from "./i18n.js";
import { ChatWidget } from "./chat.js";
import { LIFE_EVENTS, POPULAR } from "./topics.js";

const LANGUAGE_KEY = "zw.lang";
const RESULTS_LIMIT = 8;

let chat = null;
let lastView = null; // what the results panel shows, to redraw it in the other language

async function getJson(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) url.searchParams.set(key, value);
  const answer = await fetch(url);
  if (!answer.ok) throw new Error(String(answer.status));
  return answer.json();
}

function serviceItem(service) {
  const days = service.time_limit_days;
  const meta = [
    service.department,
    service.tier_label,
    service.online_level ? label("online_levels", service.online_level) : null,
    days === undefined || days === null ? null : days ? t("workingDays", { days }) : t("sameDay"),
  ].filter(Boolean);
  return h(
    "li",
    { class: "service", "data-service-id": service.id },
    h("h3", {}, service.name),
    h("p", { class: "service-meta" }, meta.join(" · ")),
    service.summary ? h("p", { class: "service-summary" }, service.summary) : null,
    h(
      "div",
      { class: "service-actions" },
      h(
        "button",
        { type: "button", class: "button-secondary", onclick: () => chat.ask(t("askAbout", { name: service.name })) },
        icon("chat"),
        t("askAssistant"),
      ),
      service.url
        ? h("a", { href: service.url, target: "_blank", rel: "noopener noreferrer", class: "guide-link" }, t("officialGuide"))
        : null,
    ),
  );
}

function showResults(heading, services, emptyKey = "noResults") {
  const panel = document.getElementById("zw-results");
  const list = document.getElementById("zw-results-list");
  panel.hidden = false;
  document.getElementById("zw-results-heading").textContent = heading;
  list.replaceChildren(...services.map(serviceItem));
  document.getElementById("zw-results-empty").textContent = services.length ? "" : t(emptyKey);
}

async function search(query) {
  lastView = { kind: "search", query };
  const panel = document.getElementById("zw-results");
  panel.hidden = false;
  panel.setAttribute("aria-busy", "true");
  document.getElementById("zw-results-heading").textContent = t("searching");
  try {
    const found = await getJson("/api/v1/services", { q: query, lang: language(), limit: RESULTS_LIMIT });
    showResults(t("resultsFor", { q: query }), found.results.map((result) => result.service));
  } catch {
    showResults(t("resultsFor", { q: query }), [], "searchFailed");
  } finally {
    panel.setAttribute("aria-busy", "false");
  }
}

async function services(ids) {
  const found = await Promise.all(
    ids.map((id) => getJson(`/api/v1/services/${encodeURIComponent(id)}`, { lang: language() }).catch(() => null)),
  );
  return found.filter(Boolean);
}

async function showLifeEvent(event) {
  lastView = { kind: "event", event };
  const title = event.title[language()];
  showResults(t("lifeEventHeading", { event: title }), await services(event.services));
  document.getElementById("zw-results-heading").focus();
}

async function drawPopular() {
  const list = document.getElementById("zw-popular");
  const found = await services(POPULAR);
  list.replaceChildren(
    ...found.map((service) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "tile", "data-service-id": service.id, onclick: () => chat.ask(t("askAbout", { name: service.name })) },
          icon("doc"),
          h("span", {}, service.name),
        ),
      ),
    ),
  );
}

function drawLifeEvents() {
  document.getElementById("zw-life-events").replaceChildren(
    ...LIFE_EVENTS.map((event) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "event", "data-event": event.id, onclick: () => showLifeEvent(event) },
          icon(event.icon, "icon icon-large"),
          h("span", {}, event.title[language()]),
        ),
      ),
    ),
  );
}

function applyLanguage(lang) {
  setLanguage(lang);
  try {
    window.localStorage.setItem(LANGUAGE_KEY, language());
  } catch {
    // Not kept across visits in private mode; the switch still works.
  }
  document.title = `${t("siteName")} · ${t("tagline")}`;
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === language()));
  }
  translatePage();
  drawLifeEvents();
  drawPopular();
  if (chat) chat.render();
  if (lastView && lastView.kind === "search") search(lastView.query);
  if (lastView && lastView.kind === "event") showLifeEvent(lastView.event);
}

async function main() {
  let stored = null;
  try {
    stored = window.localStorage.getItem(LANGUAGE_KEY);
  } catch {
    stored = null;
  }
  setLanguage(stored || "zh");
  await loadLabels();
  const chatUrl = document.querySelector('meta[name="zw-chat-url"]').content;
  chat = new ChatWidget(chatUrl);
  applyLanguage(language());
  chat.start();

  document.getElementById("zw-search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const query = document.getElementById("zw-search-input").value.trim();
    if (query) search(query);
  });
  for (const button of document.querySelectorAll("[data-lang]")) {
    button.addEventListener("click", () => applyLanguage(button.dataset.lang));
  }
  for (const button of document.querySelectorAll("[data-ask]")) {
    button.addEventListener("click", () => chat.ask(t(button.dataset.ask)));
  }
  document.body.dataset.ready = "true";
}

main();
