// Line icons drawn inline (24×24, stroked with the text colour): no icon font, no request.

const PATHS = {
  baby: "M12 4a3 3 0 1 1 0 6a3 3 0 0 1 0-6zM6 21v-3a6 6 0 0 1 12 0v3M9 15h.01M15 15h.01",
  rings: "M9 8l1.5-3h3L15 8M9 14a5 5 0 1 0 10 0a5 5 0 0 0-10 0M5 14a5 5 0 0 0 7.5 4.3",
  shop: "M4 9l1.5-5h13L20 9M4 9h16M4 9a2.7 2.7 0 0 0 5.3 0a2.7 2.7 0 0 0 5.4 0a2.7 2.7 0 0 0 5.3 0M5 12v8h14v-8M10 20v-5h4v5",
  retire: "M3 18h18M6 18a6 6 0 0 1 12 0M12 5v2M4.9 8.9l1.4 1.4M19.1 8.9l-1.4 1.4",
  home: "M3 11l9-7l9 7M5 10v10h14V10M10 20v-6h4v6",
  search: "M11 4a7 7 0 1 1 0 14a7 7 0 0 1 0-14zM20 20l-4-4",
  chat: "M4 5h16v11H9l-5 4z",
  camera: "M4 8h3l2-3h6l2 3h3v11H4zM12 10a3.5 3.5 0 1 1 0 7a3.5 3.5 0 0 1 0-7z",
  send: "M4 12l16-8l-6 16l-3-7z",
  phone: "M5 4h4l2 5l-2.5 1.5a11 11 0 0 0 5 5L15 13l5 2v4a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2",
  alert: "M12 3l10 18H2zM12 10v5M12 18h.01",
  check: "M5 12l5 5l9-10",
  doc: "M6 3h9l4 4v14H6zM14 3v5h5M9 13h7M9 17h7",
  close: "M6 6l12 12M18 6L6 18",
  megaphone: "M3 10v4h3l8 4V6L6 10zM17 9a4 4 0 0 1 0 6",
  clock: "M12 3a9 9 0 1 1 0 18a9 9 0 0 1 0-18zM12 7v5l3 2",
};

export function icon(name, className = "icon") {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", PATHS[name] || PATHS.doc);
  svg.append(path);
  return svg;
}
