// Building the page from data without ever parsing data as HTML: text goes in as text
// nodes, attributes through setAttribute.

/** An element with attributes and children; strings and numbers become text nodes. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
}

export function byId(id) {
  return document.getElementById(id);
}

/** A link to an http(s) address only: anything else (javascript:, data:) is shown as text. */
export function externalLink(href, text) {
  let url = null;
  try {
    url = new URL(href);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) return document.createTextNode(text);
  return el("a", { href: url.href, target: "_blank", rel: "noopener noreferrer" }, text);
}

/** A definition list of [term, description] pairs, leaving out empty descriptions. */
export function facts(node, pairs) {
  const items = [];
  for (const [term, description] of pairs) {
    if (description === null || description === undefined || description === "") continue;
    items.push(el("dt", {}, term), el("dd", {}, description));
  }
  fill(node, items);
}

/** Options of a <select>: [value, label] pairs, keeping the chosen value when it is still offered. */
export function options(select, pairs) {
  const chosen = select.value;
  fill(
    select,
    pairs.map(([value, label]) => el("option", { value }, label)),
  );
  if (pairs.some(([value]) => value === chosen)) select.value = chosen;
}

/** Show one message in a live region; `kind` "error" or "ok" styles it. */
export function say(node, text, kind = "") {
  node.textContent = text;
  node.className = `message ${kind}`.trim();
}
