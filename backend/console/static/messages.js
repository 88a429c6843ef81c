// What staff are told when a request fails: a sentence of our own for the failures we
// know, else the platform's message, politely framed.

import { ApiError } from "./api.js";
import { t } from "./i18n.js";

export function errorText(error) {
  if (!(error instanceof ApiError)) return `${t("generic_error")}${error}`;
  if (error.code === "network") return t("network_error");
  if (error.status === 401 || error.code === "invalid_token") return t("session_ended");
  if (error.code === "missing_note") return t("missing_note");
  return `${t("generic_error")}${error.message || error.code}`;
}
