// Horizontal bar charts drawn as inline SVG into an <svg> already on the page (its
// namespace is taken from it). Each bar has its label above it and its value beside it;
// the chart's aria-label reads out every value, since a picture alone tells a screen
// reader nothing.

const DEFAULT_WIDTH = 360;
const ROW = 38;
const BAR = 14;
const VALUE_ROOM = 56;
const CHAR_WIDTH = 7;

function shape(svg, tag, attributes = {}) {
  const node = document.createElementNS(svg.namespaceURI, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** The label cut to what fits `width` (a Chinese character counts as two); the bar's title has it whole. */
function shortened(text, width) {
  const room = Math.floor(width / CHAR_WIDTH);
  let used = 0;
  for (let index = 0; index < text.length; index += 1) {
    used += text.charCodeAt(index) > 0x2e7f ? 2 : 1;
    if (used > room) return `${text.slice(0, Math.max(index - 1, 1))}…`;
  }
  return text;
}

/**
 * Draw `bars` ([{label, value, tone?}]) into `svg`. `title` names the chart; `empty` is
 * what to say when there is nothing to draw; `format` writes a value.
 */
export function barChart(svg, bars, { title, empty, format = String }) {
  svg.replaceChildren();
  // Drawn at the size it is shown, so that its text is as large as the page's.
  const width = Math.max(svg.clientWidth || DEFAULT_WIDTH, 200);
  const rows = Math.max(bars.length, 1);
  const height = rows * ROW + 4;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const summary = bars.length ? bars.map((bar) => `${bar.label}: ${format(bar.value)}`).join("; ") : empty;
  svg.setAttribute("aria-label", `${title}. ${summary}`);
  const heading = shape(svg, "title");
  heading.textContent = `${title}. ${summary}`;
  svg.append(heading);
  if (!bars.length) {
    const nothing = shape(svg, "text", { x: 0, y: 22, class: "chart-empty" });
    nothing.textContent = empty;
    svg.append(nothing);
    return;
  }
  const most = Math.max(1, ...bars.map((bar) => bar.value));
  const span = width - VALUE_ROOM;
  bars.forEach((bar, index) => {
    const top = index * ROW + 4;
    const group = shape(svg, "g", { class: `chart-bar ${bar.tone ? `tone-${bar.tone}` : ""}`.trim() });
    const tip = shape(svg, "title");
    tip.textContent = `${bar.label}: ${format(bar.value)}`;
    const label = shape(svg, "text", { x: 0, y: top + 12, class: "chart-label" });
    label.textContent = shortened(bar.label, width);
    const length = bar.value > 0 ? Math.max(3, (bar.value / most) * span) : 0;
    const fill = shape(svg, "rect", { x: 0, y: top + 18, width: length.toFixed(1), height: BAR, rx: 2, class: "chart-fill" });
    const value = shape(svg, "text", { x: (length + 6).toFixed(1), y: top + 29, class: "chart-value" });
    value.textContent = format(bar.value);
    group.append(tip, label, fill, value);
    svg.append(group);
  });
}
