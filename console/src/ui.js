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

export function errorState(error, retry, { back } = {}) {
  const unavailable = error && error.unavailable;
  if (error && error.notFound) {
    return h("div", { class: "state error not-found", role: "alert" }, h("strong", {}, "Not found"),
      h("span", {}, error.message || "It does not exist, or it was deleted."),
      back ? h("a", { href: back.href }, back.text) : null);
  }
  const title = unavailable ? "Not available on this deployment" : (error.status === 403 ? "Not allowed" : "Something went wrong");
  const detail = unavailable ? `The API does not serve ${error.path || "this route"} yet.` : (error.message || String(error));
  return h("div", { class: `state error${unavailable ? " unavailable" : ""}`, role: "alert" },
    h("strong", {}, title), h("span", {}, detail),
    retry ? h("button", { type: "button", class: "secondary", onclick: retry }, "Retry") : null);
}

// Fill `el` from an async loader, showing loading, then the rendered content, an empty state or an error.
export async function section(el, loader, render, { emptyText = "Nothing here yet.", isEmpty, back } = {}) {
  clear(el, loading());
  try {
    const data = await loader();
    const none = isEmpty ? isEmpty(data) : (data === null || data === undefined ||
      (Array.isArray(data) && data.length === 0) || (Array.isArray(data?.items) && data.items.length === 0));
    clear(el, none ? empty(emptyText) : render(data));
    return data;
  } catch (error) {
    clear(el, errorState(error, () => section(el, loader, render, { emptyText, isEmpty, back }), { back }));
    if (!error.status) console.error(error);
    return undefined;
  }
}

// A list read page by page: the first page, then "Load more" appends the next (cursor) until there is none.
// `fetchPage(cursor)` resolves to {items, next_cursor, total?}; `render(items)` draws everything loaded so far.
// Returns {reload, items()}; the element carries data-loaded (rows shown) for tests and people alike.
export function pagedList(el, fetchPage, render, { emptyText = "Nothing here yet.", noun = "items", back } = {}) {
  let items = [];
  let cursor = null;
  let total = null;
  let run = 0;
  const body = h("div", { class: "paged-body" });
  const count = h("span", { class: "muted small paged-count" });
  const more = h("button", { type: "button", class: "secondary load-more", hidden: true, onclick: () => load(true) }, "Load more");
  const foot = h("div", { class: "row paged-foot" }, more, count);
  async function load(next = false) {
    const mine = ++run;
    more.disabled = true;
    if (!next) clear(el, loading());
    try {
      const page = await fetchPage(next ? cursor : null);
      if (mine !== run) return;
      items = next ? items.concat(page.items) : page.items;
      cursor = page.next_cursor || null;
      total = page.total ?? (cursor ? null : items.length);
      el.dataset.loaded = String(items.length);
      more.hidden = !cursor;
      count.textContent = items.length ? `${items.length}${total != null ? ` of ${total}` : cursor ? "+" : ""} ${noun}` : "";
      clear(body, items.length ? render(items) : empty(emptyText));
      if (!next) clear(el, body, foot);
    } catch (error) {
      if (mine !== run) return;
      if (next) clear(body, body.firstChild, notice("error", problemText(error)));
      else clear(el, errorState(error, () => load(), { back }));
    } finally {
      more.disabled = false;
    }
  }
  return { reload: () => load(false), items: () => items };
}

export function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

// A table in a box that scrolls sideways when the table is wider than the page (never the page itself); with
// `stack`, each row becomes a small card of labelled lines on a phone (styles.css).
export function table(columns, rows, { rowAttrs, stack = false } = {}) {
  return h("div", { class: "table-wrap" }, h("table", { class: stack ? "stacked" : "" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.numeric ? "num" : "" }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {},
      columns.map((c) => h("td", { class: c.numeric ? "num" : "", "data-label": c.label || null },
        c.render ? c.render(row) : fmt(row[c.key]))))))));
}

export function fmt(value, digits = 2) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString() : value.toFixed(digits);
  return String(value);
}

// "1 request", "2 requests": a count with its noun (`plural` when adding "s" is wrong).
export const counted = (n, noun, plural = `${noun}s`) => `${fmt(n)} ${n === 1 ? noun : plural}`;
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
