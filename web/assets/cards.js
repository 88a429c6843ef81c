// One bot message (`bot_uttered` of bot/channels/socketio.py: {text?, quick_replies?,
// custom?, attachment?}) drawn as one bubble. A message with a `custom` payload is drawn
// as its card, and its text is not repeated: a card shows the payload's fields, and only
// those lines of the text that say something the card does not (the follow-up code of an
// anonymous report, how to check progress) are kept under it.

import { h, lines } from "./dom.js";
import { icon } from "./icons.js";
import { label, language, t } from "./i18n.js";

const TIME_ZONE = "Asia/Shanghai";

function formatTime(at) {
  const when = new Date(at);
  if (Number.isNaN(when.getTime())) return String(at || "");
  return when.toLocaleString(language() === "en" ? "en-GB" : "zh-CN", {
    timeZone: TIME_ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

function field(name, value, className) {
  if (value === undefined || value === null || value === "") return null;
  return h("div", { class: `field ${className || ""}` }, h("dt", {}, name), h("dd", {}, value));
}

function fields(...items) {
  return h("dl", { class: "fields" }, items.filter(Boolean));
}

function card(kind, iconName, title, ...body) {
  return h(
    "div",
    { class: `card card-${kind}`, "data-card": kind },
    h("div", { class: "card-title" }, icon(iconName), h("h3", {}, title)),
    body,
  );
}

/** The text's lines that mention none of `shown`, without the first (the card's title says it). */
function restOfText(text, shown, { keepFirst = false } = {}) {
  const values = shown.filter((value) => value && String(value).length >= 3).map(String);
  const kept = String(text || "")
    .split("\n")
    .slice(keepFirst ? 0 : 1)
    .filter((line) => line.trim() && !values.some((value) => line.includes(value)));
  return kept.length ? h("p", { class: "card-note" }, lines(kept.join("\n"))) : null;
}

function timeLimit(days) {
  if (days === undefined || days === null) return null;
  return days ? t("workingDays", { days }) : t("sameDay");
}

function materialsList(materials) {
  if (!materials || !materials.length) return null;
  return h(
    "ol",
    { class: "materials" },
    materials.map((material) =>
      h(
        "li",
        {},
        material.name,
        h(
          "span",
          { class: "material-form" },
          [material.form_label || label("material_forms", material.form), t("copies", { copies: material.copies || 1 })]
            .filter(Boolean)
            .join(" · "),
        ),
      ),
    ),
  );
}

function stepsList(steps) {
  if (!steps || !steps.length) return null;
  return h(
    "ol",
    { class: "steps" },
    steps.map((step) => h("li", {}, h("strong", {}, step.title || ""), step.text ? h("span", {}, step.text) : null)),
  );
}

function officeLines(office, service) {
  if (!office) return field(t("office"), t("officeUnknown", { department: service.department || "" }));
  const phone = office.phone ? h("a", { href: `tel:${office.phone}` }, office.phone) : null;
  return [field(t("office"), office.department), field(t("address"), office.address), field(t("phone"), phone)];
}

function serviceCard(custom) {
  const service = custom.service || {};
  const guide = service.url
    ? h("a", { href: service.url, target: "_blank", rel: "noopener noreferrer", class: "guide-link" }, t("officialGuide"))
    : null;
  return card(
    "service_card",
    "doc",
    service.name || "",
    fields(
      ...[officeLines(custom.office, service)].flat(),
      field(t("timeLimit"), timeLimit(service.time_limit_days) || t("seeGuide")),
      field(t("fee"), service.fee || t("seeGuide")),
      field(t("onlineLevel"), service.online_level ? label("online_levels", service.online_level) : t("seeGuide")),
    ),
    service.materials && service.materials.length
      ? h("details", { class: "card-more" }, h("summary", {}, t("materials")), materialsList(service.materials))
      : null,
    service.steps && service.steps.length
      ? h("details", { class: "card-more" }, h("summary", {}, t("steps")), stepsList(service.steps))
      : null,
    guide,
    h("p", { class: "card-note" }, t("cardHint")),
  );
}

function serviceDetail(custom, text) {
  const heading = String(text || "").split("\n")[0] || t("serviceDetail");
  if (custom.aspect === "materials" && custom.materials && custom.materials.length) {
    return card("service_detail", "doc", heading, materialsList(custom.materials));
  }
  if (custom.aspect === "steps" && custom.steps && custom.steps.length) {
    return card("service_detail", "doc", heading, stepsList(custom.steps));
  }
  return card("service_detail", "doc", heading, restOfText(text, []));
}

function candidates(custom, text, choose, quickReplies) {
  const question = String(text || "").split("\n")[0] || t("choose");
  const buttons = quickReplies.length
    ? quickReplies
    : (custom.candidates || []).map((candidate) => ({
        title: candidate.name,
        payload: `/choose_candidate${JSON.stringify({ service_id: candidate.id })}`,
      }));
  return h(
    "div",
    { class: "card card-service_candidates", "data-card": "service_candidates" },
    h("p", {}, question),
    replies(buttons, choose, "candidate-list"),
  );
}

function applicationReceipt(custom, text) {
  return card(
    "application_receipt",
    "check",
    t("applicationReceipt"),
    fields(
      field(t("applicationId"), h("span", { class: "reference" }, custom.application_id), "major"),
      field(t("status"), label("application_statuses", custom.status)),
      field(t("expectedCompletion"), custom.expected_completion),
    ),
    restOfText(text, [custom.application_id, custom.expected_completion]),
  );
}

function appointmentReceipt(custom, text) {
  const office = custom.office || {};
  return card(
    "appointment_receipt",
    "clock",
    t("appointmentReceipt"),
    fields(
      field(t("appointmentId"), h("span", { class: "reference" }, custom.appointment_id), "major"),
      field(t("when"), `${custom.date || ""} ${custom.time || ""}`.trim()),
      field(t("where"), [office.department, office.address].filter(Boolean).join(" · ")),
    ),
    restOfText(text, [custom.appointment_id, custom.date, office.department]),
  );
}

function complaintReceipt(custom, text) {
  return card(
    "complaint_receipt",
    "check",
    t("complaintReceipt"),
    fields(
      field(t("complaintId"), h("span", { class: "reference" }, custom.complaint_id), "major"),
      field(t("category"), t("categoryWithType", { category: label("categories", custom.category), type: label("request_types", custom.request_type) })),
      field(t("status"), label("complaint_statuses", custom.status)),
      field(t("responseDue"), custom.response_due),
    ),
    restOfText(text, [custom.complaint_id, custom.response_due, label("categories", custom.category)]),
  );
}

function complaintQueued(custom, text) {
  return card(
    "complaint_queued",
    "clock",
    t("complaintQueued"),
    fields(field(t("reference"), h("span", { class: "reference" }, custom.reference), "major")),
    restOfText(text, [custom.reference], { keepFirst: true }),
  );
}

function timeline(entries, group) {
  return h(
    "ol",
    { class: "timeline", "aria-label": t("history") },
    (entries || []).map((entry) =>
      h(
        "li",
        {},
        h("span", { class: "timeline-status" }, label(group, entry.status)),
        h("time", { datetime: entry.at }, formatTime(entry.at)),
        entry.note && entry.note !== label(group, entry.status) ? h("span", { class: "timeline-note" }, entry.note) : null,
      ),
    ),
  );
}

function applicationStatus(custom) {
  return card(
    "application_status",
    "clock",
    t("applicationStatus"),
    fields(
      field(t("applicationId"), h("span", { class: "reference" }, custom.application_id), "major"),
      field(t("stage"), label("application_stages", custom.stage)),
      field(t("status"), label("application_statuses", custom.status)),
      field(t("nextStep"), label("next_steps", custom.status) === custom.status ? null : label("next_steps", custom.status)),
    ),
    timeline(custom.history, "application_statuses"),
  );
}

function complaintStatus(custom, text) {
  return card(
    "complaint_status",
    "clock",
    t("complaintStatus"),
    fields(
      field(t("complaintId"), h("span", { class: "reference" }, custom.complaint_id), "major"),
      field(t("status"), label("complaint_statuses", custom.status)),
    ),
    timeline(custom.updates, "complaint_statuses"),
    restOfText(
      String(text || "")
        .split("\n")
        .filter((line) => /期限|due/i.test(line))
        .join("\n"),
      [],
      { keepFirst: true },
    ),
  );
}

function update(custom, kind, title, group) {
  const next = kind === "application_update" ? label("next_steps", custom.status) : null;
  return card(
    kind,
    "megaphone",
    title,
    fields(
      field(kind === "application_update" ? t("applicationId") : t("complaintId"), h("span", { class: "reference" }, custom.application_id || custom.complaint_id)),
      field(t("status"), label(group, custom.status)),
      field(t("nextStep"), next && next !== custom.status ? next : null),
    ),
    custom.note ? h("p", { class: "card-note" }, custom.note) : null,
  );
}

function emergency(custom, text) {
  const number = String(custom.number || "").replace(/[^\d]/g, "");
  return h(
    "div",
    { class: "card card-emergency", "data-card": "emergency" },
    h("div", { class: "card-title" }, icon("alert"), h("h3", {}, t("emergency"))),
    h("a", { class: "call-now", href: `tel:${number}` }, icon("phone"), t("callNow", { number })),
    text ? h("p", { class: "card-note" }, lines(text)) : null,
  );
}

function replies(buttons, choose, className = "quick-replies") {
  if (!buttons.length) return null;
  return h(
    "div",
    { class: className, role: "group" },
    buttons.map((button) =>
      h("button", { type: "button", class: "reply", "data-payload": button.payload, onclick: () => choose(button) }, button.title),
    ),
  );
}

const CARDS = {
  service_card: (custom) => serviceCard(custom),
  service_detail: (custom, text) => serviceDetail(custom, text),
  application_receipt: applicationReceipt,
  appointment_receipt: appointmentReceipt,
  complaint_receipt: complaintReceipt,
  complaint_queued: complaintQueued,
  application_status: (custom) => applicationStatus(custom),
  complaint_status: complaintStatus,
  application_update: (custom) => update(custom, "application_update", t("applicationUpdate"), "application_statuses"),
  complaint_update: (custom) => update(custom, "complaint_update", t("complaintUpdate"), "complaint_statuses"),
  emergency,
};

/**
 * The content of one bot bubble. `choose(button)` is called when a reply button is
 * clicked; `answered` draws the buttons disabled (the conversation has moved on).
 */
export function renderBotMessage(message, choose, answered = false) {
  const quickReplies = (message.quick_replies || message.buttons || []).filter((button) => button && button.title);
  const custom = message.custom && typeof message.custom === "object" ? message.custom : null;
  const parts = [];
  if (custom && custom.type === "service_candidates") {
    parts.push(candidates(custom, message.text, choose, quickReplies));
  } else {
    const draw = custom && CARDS[custom.type];
    if (draw) parts.push(draw(custom, message.text || ""));
    else if (message.text) parts.push(h("p", { class: "text" }, lines(message.text)));
    if (message.attachment && message.attachment.type === "image" && message.attachment.payload) {
      parts.push(h("img", { src: message.attachment.payload.src, alt: "", class: "attachment" }));
    }
    parts.push(replies(quickReplies, choose));
  }
  const body = h("div", { class: "bubble-body" }, parts);
  if (answered) for (const button of body.querySelectorAll("button.reply")) button.disabled = true;
  return body;
}
