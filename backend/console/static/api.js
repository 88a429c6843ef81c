// The console's only door to the platform: the staff JSON APIs, with the staff token
// (kept in this tab's sessionStorage) as a bearer token. Errors become ApiError with the
// API's error code; a refused token signs the console out.

const TOKEN_KEY = "zw-staff-token";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
}

let signedOut = () => {};

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function keepToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** What to do when the platform refuses the token (it was changed, or mistyped). */
export function whenSignedOut(handler) {
  signedOut = handler;
}

function address(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, String(value));
  }
  return url;
}

async function send(method, url, headers, body) {
  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, "network", "");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || "");
  }
  return data;
}

/** A staff request; `body` is sent as JSON. */
export async function staff(method, path, { params, body, bearer } = {}) {
  const headers = { Accept: "application/json", Authorization: `Bearer ${bearer ?? token() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    return await send(method, address(path, params), headers, body === undefined ? undefined : JSON.stringify(body));
  } catch (error) {
    const refused = error.status === 401 || (error.status === 403 && error.code === "invalid_token");
    if (refused && bearer === undefined) signedOut(error);
    throw error;
  }
}

/** A public request: no token is sent. */
export function publicGet(path, params) {
  return send("GET", address(path, params), { Accept: "application/json" }, undefined);
}

/** Whether `candidate` is the staff token: the platform answers a staff list with it. */
export async function checkToken(candidate) {
  try {
    await staff("GET", "/api/v1/complaints", { params: { limit: 1 }, bearer: candidate });
    return true;
  } catch (error) {
    if (error.status === 401 || error.status === 403) return false;
    throw error;
  }
}
