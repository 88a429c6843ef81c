// Building DOM nodes without innerHTML: every text from the assistant or the platform
// goes in as a text node, every link is checked to be http(s) or tel:.

export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name === "href") {
      const safe = safeHref(value);
      if (safe) node.setAttribute("href", safe);
    } else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function safeHref(value) {
  try {
    const url = new URL(String(value), window.location.href);
    return ["http:", "https:", "tel:"].includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

/** Text with its line breaks kept, as paragraphs of lines. */
export function lines(text) {
  const parts = String(text).split("\n");
  return parts.flatMap((line, index) => (index ? [h("br"), line] : [line]));
}
