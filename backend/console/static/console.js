// The staff console's entry point: sign-in with the staff token, the three sections
// (#reports, #applications, #dashboard) and the language switch.

import { checkToken, forgetToken, keepToken, publicGet, token, whenSignedOut } from "./api.js";
import * as applications from "./applications.js";
import * as dashboard from "./dashboard.js";
import { byId, say } from "./dom.js";
import { applyLabels, lang, setLang, t } from "./i18n.js";
import { errorText } from "./messages.js";
import * as reports from "./reports.js";

const SECTIONS = { reports, applications, dashboard };
const SIGNED_OUT_KEY = "zw-console-signed-out";
let ready = false;

function showSignIn(message = "") {
  byId("signin").hidden = false;
  byId("nav").hidden = true;
  byId("signout").hidden = true;
  for (const name of Object.keys(SECTIONS)) byId(`view-${name}`).hidden = true;
  say(byId("signin-error"), message, message ? "error" : "");
  byId("signin-token").value = "";
  byId("signin-token").focus();
}

async function enter() {
  byId("signin").hidden = true;
  byId("nav").hidden = false;
  byId("signout").hidden = false;
  if (!ready) {
    const workflow = await publicGet("/staff/assets/workflow.json");
    for (const section of Object.values(SECTIONS)) section.setup(workflow);
    ready = true;
  }
  show();
}

function current() {
  const name = window.location.hash.slice(1);
  return name in SECTIONS ? name : "reports";
}

function show() {
  if (!token() || !ready) return;
  const wanted = current();
  for (const name of Object.keys(SECTIONS)) {
    byId(`view-${name}`).hidden = name !== wanted;
    const link = byId(`nav-${name}`);
    if (name === wanted) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  SECTIONS[wanted].load();
}

async function signIn(event) {
  event.preventDefault();
  const candidate = byId("signin-token").value.trim();
  const message = byId("signin-error");
  if (!candidate) {
    say(message, t("signin_missing"), "error");
    return;
  }
  const button = byId("signin-submit");
  button.disabled = true;
  say(message, t("signin_checking"));
  try {
    if (!(await checkToken(candidate))) {
      say(message, t("signin_invalid"), "error");
      byId("signin-token").focus();
      return;
    }
    keepToken(candidate);
    byId("signin-token").value = "";
    say(message, "");
    await enter();
    byId(`nav-${current()}`).focus();
  } catch (error) {
    say(message, errorText(error), "error");
  } finally {
    button.disabled = false;
  }
}

/** Forget the token and start afresh, so that nothing loaded stays in the page. */
function signOut(reason = "") {
  forgetToken();
  sessionStorage.setItem(SIGNED_OUT_KEY, reason);
  window.location.reload();
}

function switchLanguage() {
  setLang(lang() === "zh" ? "en" : "zh");
  applyLabels();
  byId("lang-switch").setAttribute("lang", lang() === "zh" ? "en" : "zh-CN");
  if (ready) for (const section of Object.values(SECTIONS)) section.relabel();
}

async function start() {
  applyLabels();
  byId("lang-switch").setAttribute("lang", lang() === "zh" ? "en" : "zh-CN");
  byId("lang-switch").addEventListener("click", switchLanguage);
  byId("signin-form").addEventListener("submit", signIn);
  byId("signout").addEventListener("click", () => signOut());
  whenSignedOut(() => signOut("session_ended"));
  window.addEventListener("hashchange", show);
  const kept = token();
  if (!kept) {
    const reason = sessionStorage.getItem(SIGNED_OUT_KEY);
    sessionStorage.removeItem(SIGNED_OUT_KEY);
    showSignIn(reason ? t(reason) : "");
    return;
  }
  try {
    if (await checkToken(kept)) await enter();
    else signOut("session_ended");
  } catch (error) {
    showSignIn(errorText(error));
  }
}

start();
