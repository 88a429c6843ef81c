// The chat widget: Rasa's socket.io channel (bot/channels/socketio.py) from the browser.
//
// The conversation survives a reload: the server-issued session id is kept in
// localStorage and sent with `session_request` on every connect, and what was said is
// kept beside it (ID and phone numbers masked) and drawn again. Each message carries
// `metadata.lang` from the page's language switch. A photo is uploaded to the platform
// (POST /api/v1/uploads) and its link sent with `metadata.photo_urls`.

import { h } from "./dom.js";
import { language, t } from "./i18n.js";
import { renderBotMessage } from "./cards.js";

const SESSION_KEY = "zw.chat.session";
const TRANSCRIPT_KEY = "zw.chat.transcript";
const MAX_ENTRIES = 200;
const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
const ANSWER_TIMEOUT_MS = 30000;
const MOBILE = "(max-width: 767px)";

/** ID card and mobile numbers as the assistant shows them: 1101**********002X, 139****5678. */
export function maskPersonal(text) {
  return String(text)
    .replace(/(?<![\dA-Za-z])(\d{4})\d{10}(\d{3}[\dXx])(?![\dA-Za-z])/g, "$1**********$2")
    .replace(/(?<!\d)(1[3-9]\d)[\s-]?\d{4}[\s-]?(\d{4})(?!\d)/g, "$1****$2");
}

function readStorage(key, fallback) {
  try {
    const stored = window.localStorage.getItem(key);
    return stored === null ? fallback : JSON.parse(stored);
  } catch {
    return fallback;
  }
}

function writeStorage(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the conversation goes on, it just won't survive a reload.
  }
}

export class ChatWidget {
  constructor(chatUrl) {
    this.chatUrl = chatUrl;
    this.panel = document.getElementById("zw-chat");
    this.log = document.getElementById("zw-chat-log");
    this.form = document.getElementById("zw-chat-form");
    this.input = document.getElementById("zw-chat-input");
    this.status = document.getElementById("zw-chat-status");
    this.photoButton = document.getElementById("zw-photo-button");
    this.photoInput = document.getElementById("zw-photo-input");
    this.launcher = document.getElementById("zw-chat-open");
    this.closer = document.getElementById("zw-chat-close");
    this.typing = document.getElementById("zw-chat-typing");
    this.sessionId = readStorage(SESSION_KEY, null);
    this.transcript = readStorage(TRANSCRIPT_KEY, []);
    this.queue = [];
    this.confirmed = false;
    this.socket = null;
    this.waiting = null;
    this.statusKey = "connecting";
  }

  start() {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = "";
      this.send(text);
    });
    this.photoButton.addEventListener("click", () => this.photoInput.click());
    this.photoInput.addEventListener("change", () => {
      const [file] = this.photoInput.files;
      this.photoInput.value = "";
      if (file) this.upload(file);
    });
    document.getElementById("zw-chat-new").addEventListener("click", () => this.newConversation());
    this.launcher.addEventListener("click", () => this.open());
    this.closer.addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOverlay()) this.close();
    });
    window.matchMedia(MOBILE).addEventListener("change", () => this.close({ focus: false }));
    this.render();
    this.connect();
  }

  // --- connection ---------------------------------------------------------------

  connect() {
    if (typeof window.io !== "function") {
      this.setStatus("unavailable");
      return;
    }
    this.socket = window.io(this.chatUrl, {
      path: "/socket.io",
      transports: ["websocket"],
      reconnectionDelayMax: 10000,
    });
    this.socket.on("connect", () => {
      this.confirmed = false;
      this.setStatus("connecting");
      this.socket.emit("session_request", { session_id: this.sessionId });
    });
    this.socket.on("session_confirm", (sessionId) => this.confirm(sessionId));
    this.socket.on("bot_uttered", (message) => this.receive(message));
    this.socket.on("disconnect", () => {
      this.confirmed = false;
      this.setStatus("offline");
    });
    this.socket.on("connect_error", () => this.setStatus("offline"));
  }

  confirm(sessionId) {
    if (this.sessionId && sessionId !== this.sessionId && this.transcript.length) {
      // The server no longer knows our conversation (a new key, say): start afresh, and say so.
      this.transcript = [{ who: "notice", key: "sessionExpired" }];
      this.render();
    }
    this.sessionId = sessionId;
    writeStorage(SESSION_KEY, sessionId);
    this.persist();
    this.confirmed = true;
    this.panel.dataset.session = sessionId;
    this.setStatus("online");
    for (const payload of this.queue.splice(0)) this.emit(payload);
  }

  setStatus(key) {
    this.statusKey = key;
    this.status.textContent = t(key);
    this.panel.dataset.connection = key;
  }

  emit(payload) {
    if (!this.socket || !this.confirmed) {
      this.queue.push(payload);
      return;
    }
    this.socket.emit("user_uttered", { ...payload, session_id: this.sessionId });
  }

  // --- conversation -------------------------------------------------------------

  /** Sends `text` (a message or a button's payload), showing `shown` (or the text) as the citizen's bubble. */
  send(text, { shown, metadata = {}, photo } = {}) {
    this.markAnswered();
    this.add({ who: "user", text: maskPersonal(shown ?? text), photo });
    this.emit({ message: text, metadata: { lang: language(), ...metadata } });
    this.expectAnswer();
  }

  /** A question from elsewhere on the page (a search result, a life event, a button). */
  ask(text) {
    this.open();
    this.send(text);
  }

  receive(message) {
    if (!message || typeof message !== "object") return;
    this.stopWaiting();
    this.add({ who: "bot", message });
  }

  expectAnswer() {
    this.stopWaiting();
    this.typing.hidden = false;
    this.waiting = window.setTimeout(() => {
      this.typing.hidden = true;
      this.add({ who: "notice", key: "noAnswer" });
    }, ANSWER_TIMEOUT_MS);
  }

  stopWaiting() {
    if (this.waiting) window.clearTimeout(this.waiting);
    this.waiting = null;
    this.typing.hidden = true;
  }

  choose(button) {
    this.send(button.payload, { shown: button.title });
    this.input.focus();
  }

  markAnswered() {
    for (const entry of this.transcript) if (entry.who === "bot") entry.answered = true;
    for (const button of this.log.querySelectorAll("button.reply")) button.disabled = true;
  }

  add(entry) {
    this.transcript.push(entry);
    this.transcript = this.transcript.slice(-MAX_ENTRIES);
    this.persist();
    this.log.append(this.bubble(entry));
    this.scrollToEnd();
  }

  persist() {
    writeStorage(TRANSCRIPT_KEY, this.transcript);
  }

  newConversation() {
    this.stopWaiting();
    this.sessionId = null;
    this.transcript = [];
    writeStorage(SESSION_KEY, null);
    this.persist();
    this.render();
    this.add({ who: "notice", key: "newChatStarted" });
    this.confirmed = false;
    // Connected: ask for a new session now; otherwise the next connect asks for one.
    if (this.socket && this.socket.connected) this.socket.emit("session_request", { session_id: null });
    this.input.focus();
  }

  // --- photos -------------------------------------------------------------------

  async upload(file) {
    if (!PHOTO_TYPES.includes(file.type)) {
      this.add({ who: "notice", key: "photoWrongType" });
      return;
    }
    if (file.size > MAX_PHOTO_BYTES) {
      this.add({ who: "notice", key: "photoTooLarge" });
      return;
    }
    this.photoButton.disabled = true;
    this.setBusy(t("uploading"));
    try {
      const answer = await fetch("/api/v1/uploads", {
        method: "POST",
        headers: { "Content-Type": file.type },
        body: file,
      });
      const body = await answer.json().catch(() => ({}));
      if (!answer.ok || !body.url) throw new Error((body.error && body.error.message) || String(answer.status));
      this.send(body.url, { shown: "", metadata: { photo_urls: [body.url] }, photo: body.url });
    } catch (error) {
      this.add({ who: "notice", key: "uploadFailed", values: { reason: error.message } });
    } finally {
      this.setBusy("");
      this.photoButton.disabled = false;
      this.input.focus();
    }
  }

  setBusy(text) {
    this.status.textContent = text || t(this.statusKey);
  }

  // --- drawing ------------------------------------------------------------------

  bubble(entry) {
    if (entry.who === "notice") {
      return h("div", { class: "msg msg-notice" }, t(entry.key, entry.values || {}));
    }
    if (entry.who === "user") {
      return h(
        "div",
        { class: "msg msg-user" },
        h("span", { class: "visually-hidden" }, t("you")),
        h(
          "div",
          { class: "bubble-body" },
          entry.photo ? h("img", { src: entry.photo, alt: t("photoSent"), class: "photo" }) : null,
          entry.text ? h("p", { class: "text" }, entry.text) : null,
        ),
      );
    }
    return h(
      "div",
      { class: "msg msg-bot" },
      h("span", { class: "visually-hidden" }, t("assistant")),
      renderBotMessage(entry.message, (button) => this.choose(button), Boolean(entry.answered)),
    );
  }

  welcome() {
    return h(
      "div",
      { class: "msg msg-bot msg-welcome" },
      h(
        "div",
        { class: "bubble-body" },
        h("p", { class: "text" }, t("welcome")),
        h(
          "div",
          { class: "quick-replies" },
          t("suggestions").map((text) => h("button", { type: "button", class: "reply", onclick: () => this.choose({ payload: text, title: text }) }, text)),
        ),
      ),
    );
  }

  /** Draws the whole conversation anew (on load, after a language switch). */
  render() {
    this.log.setAttribute("aria-busy", "true");
    this.log.replaceChildren(this.welcome(), ...this.transcript.map((entry) => this.bubble(entry)));
    if (this.transcript.length) for (const button of this.log.querySelectorAll(".msg-welcome button")) button.disabled = true;
    this.status.textContent = t(this.statusKey);
    this.log.setAttribute("aria-busy", "false");
    this.scrollToEnd();
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  // --- the panel on small screens -----------------------------------------------

  isOverlay() {
    return window.matchMedia(MOBILE).matches;
  }

  open() {
    document.body.classList.add("chat-open");
    this.launcher.setAttribute("aria-expanded", "true");
    if (this.isOverlay()) for (const id of ["zw-header", "zw-main", "zw-footer"]) document.getElementById(id).inert = true;
    this.scrollToEnd();
    this.input.focus();
  }

  close({ focus = true } = {}) {
    document.body.classList.remove("chat-open");
    this.launcher.setAttribute("aria-expanded", "false");
    for (const id of ["zw-header", "zw-main", "zw-footer"]) document.getElementById(id).inert = false;
    if (focus && this.isOverlay()) this.launcher.focus();
  }
}
