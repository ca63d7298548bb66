// The API client and the session.
//
// Token storage: the access token (15 minutes) lives only in this module's memory, never in Web Storage, so a
// script injected later cannot lift it from storage. The refresh token goes to sessionStorage: it is scoped to
// this tab and erased when the tab closes, and it lets a reload resume the session without a new password.
// Refresh tokens are single-use and the API revokes the whole session when a used one comes back, so one refresh
// runs at a time (`refreshing`) and every request that saw a 401 waits for it and retries once.
const REFRESH_KEY = "maestro.refresh_token";
// The gateway's detail for a route it does not serve (infra/gateway_responses.py, MISSING_AUTHENTICATION_TOKEN).
const GATEWAY_UNKNOWN_ROUTE = "no such route or method";

let apiBase = "";
let accessToken = null;
let refreshing = null;
let refreshTimer = null;
let me = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem, path) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.path = path;
  }
  // A route this deployment does not serve (yet): 405, or the gateway's answer to an unknown route (a 404 whose
  // detail says so, or the local gateway's 403). A 404 from a route that exists is a missing object: `notFound`.
  get unavailable() {
    return this.status === 405 || (this.status === 404 && this.problem.detail === GATEWAY_UNKNOWN_ROUTE) ||
      (this.status === 403 && String(this.problem.type || "").endsWith("gateway-rejected"));
  }
  get notFound() { return this.status === 404 && !this.unavailable; }
  get fieldErrors() { return this.problem.errors || []; }
}

export async function loadConfig() {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = await response.json();
  apiBase = String(config.api_base_url || "").replace(/\/+$/, "");
  return config;
}

export function onSessionChange(listener) { listeners.add(listener); }
function changed() { listeners.forEach((listener) => listener(me)); }
export function currentUser() { return me; }
export function hasSession() { return accessToken !== null || sessionStorage.getItem(REFRESH_KEY) !== null; }

function adopt(pair) {
  accessToken = pair.access_token;
  sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
  clearTimeout(refreshTimer);
  // Refresh a minute before the access token expires, so a page in use never sees a 401.
  const seconds = Math.max(30, (pair.expires_in || 900) - 60);
  refreshTimer = setTimeout(() => refreshSession().catch(() => {}), seconds * 1000);
}

function forget() {
  accessToken = null;
  me = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
  changed();
}

async function raw(path, { method = "GET", body, query, headers = {}, token = accessToken } = {}) {
  const url = new URL(apiBase + path);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    (Array.isArray(value) ? value : [value]).forEach((v) => url.searchParams.append(name, v));
  }
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "omit" };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (cause) {
    throw new ApiError(0, { title: "Network error", detail: `the API at ${apiBase} could not be reached` }, path);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!response.ok) throw new ApiError(response.status, data, path);
  return { data, headers: response.headers, status: response.status };
}

export async function refreshSession() {
  if (refreshing) return refreshing;
  const token = sessionStorage.getItem(REFRESH_KEY);
  if (!token) throw new ApiError(401, { detail: "signed out" }, "/v1/auth/refresh");
  refreshing = raw("/v1/auth/refresh", { method: "POST", body: { refresh_token: token }, token: null })
    .then(({ data }) => { adopt(data); return data; })
    .catch((error) => { if (error.status === 401 || error.status === 400 || error.status === 422) forget(); throw error; })
    .finally(() => { refreshing = null; });
  return refreshing;
}

// An authenticated request; a 401 triggers one refresh and one retry. Resolves to the body (or {data, headers}).
export async function api(path, options = {}) {
  if (!accessToken && sessionStorage.getItem(REFRESH_KEY)) await refreshSession();
  try {
    const result = await raw(path, options);
    return options.full ? result : result.data;
  } catch (error) {
    if (error.status !== 401 || !sessionStorage.getItem(REFRESH_KEY) || options.retried) throw error;
    await refreshSession();
    const result = await raw(path, { ...options, retried: true });
    return options.full ? result : result.data;
  }
}

export async function login(email, password) {
  const { data } = await raw("/v1/auth/login", { method: "POST", body: { email, password }, token: null });
  adopt(data);
  return loadMe();
}

export async function signup(fields) {
  const { data } = await raw("/v1/auth/signup", { method: "POST", body: fields, token: null });
  adopt(data);
  return loadMe();
}

export async function loadMe() {
  me = await api("/v1/auth/me");
  changed();
  return me;
}

export async function logout() {
  try { if (accessToken) await raw("/v1/auth/logout", { method: "POST" }); } catch { /* signed out locally anyway */ }
  forget();
}

// Test hook (and a debugging aid): drop the in-memory access token, as if it had expired.
export function forgetAccessToken() { accessToken = null; }
export function corruptAccessToken() { accessToken = "expired.invalid.token"; }
