// Small DOM helpers and the three states every page section has: loading, empty and error.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "class") el.className = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

export const loading = (text = "Loading…") => h("div", { class: "state loading", role: "status" }, text);
export const empty = (text) => h("div", { class: "state empty" }, text);

export function errorState(error, retry) {
  const unavailable = error && error.unavailable;
  const title = unavailable ? "Not available on this deployment" : (error.status === 403 ? "Not allowed" : "Something went wrong");
  const detail = unavailable ? `The API does not serve ${error.path || "this route"} yet.` : (error.message || String(error));
  return h("div", { class: `state error${unavailable ? " unavailable" : ""}`, role: "alert" },
    h("strong", {}, title), h("span", {}, detail),
    retry ? h("button", { type: "button", class: "secondary", onclick: retry }, "Retry") : null);
}

// Fill `el` from an async loader, showing loading, then the rendered content, an empty state or an error.
export async function section(el, loader, render, { emptyText = "Nothing here yet.", isEmpty } = {}) {
  clear(el, loading());
  try {
    const data = await loader();
    const none = isEmpty ? isEmpty(data) : (data === null || data === undefined ||
      (Array.isArray(data) && data.length === 0) || (Array.isArray(data?.items) && data.items.length === 0));
    clear(el, none ? empty(emptyText) : render(data));
    return data;
  } catch (error) {
    clear(el, errorState(error, () => section(el, loader, render, { emptyText, isEmpty })));
    if (!error.status) console.error(error);
    return undefined;
  }
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

export function table(columns, rows, { rowAttrs } = {}) {
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.numeric ? "num" : "" }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {},
      columns.map((c) => h("td", { class: c.numeric ? "num" : "" }, c.render ? c.render(row) : fmt(row[c.key])))))));
}

export function fmt(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(digits);
  return String(value);
}

export const pct = (ratio) => (ratio === null || ratio === undefined ? "—" : `${(100 * ratio).toFixed(0)}%`);
export const date = (iso) => (iso ? new Date(iso).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "—");
export const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
export const badge = (text, kind = text) => h("span", { class: `badge ${String(kind).replace(/[^a-z_-]/gi, "")}` }, text);
export const label = (text, control) => h("label", {}, h("span", {}, text), control);
export const humanize = (name) => String(name).replace(/_/g, " ");

export function formValues(form) {
  const values = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === "checkbox") values[el.name] = el.checked;
    else if (el.type === "number" || el.type === "range") values[el.name] = el.value === "" ? null : Number(el.value);
    else values[el.name] = el.value.trim();
  }
  return values;
}

export function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs }, options.map((o) => {
    const [v, text] = Array.isArray(o) ? o : [o, humanize(o)];
    return h("option", { value: v, selected: v === value }, text);
  }));
}

export function notice(kind, ...children) { return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children); }

export function problemText(error) {
  const fields = (error.fieldErrors || []).map((e) => `${e.field}: ${e.message}`);
  return [error.message, ...fields].join(" — ");
}
