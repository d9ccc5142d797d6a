// The dom grounder's page side: find visible elements by their accessible names.
// Loaded as the body of a function; the caller appends `return qvlFind(...)` or similar.
// Coordinates are CSS pixels of the viewport (the browser screen's own units).
function qvlNorm(t) {
  return (t || "").toLowerCase().split(/\s+/).join(" ").replace(/^[\s.:;,!?*]+|[\s.:;,!?*]+$/g, "");
}
function qvlVisible(el) {
  const r = el.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return false;
  if (r.bottom < 0 || r.right < 0 || r.top > innerHeight || r.left > innerWidth) return false;
  const s = getComputedStyle(el);
  return s.visibility !== "hidden" && s.display !== "none" && Number(s.opacity) > 0;
}
function qvlKind(el) {
  const tag = el.tagName.toLowerCase(), type = (el.getAttribute("type") || "").toLowerCase();
  const role = (el.getAttribute("role") || "").toLowerCase();
  if (type === "checkbox" || type === "radio" || role === "checkbox") return "checkbox";
  if (role === "switch") return "switch";
  if (tag === "button" || role === "button" || ["submit", "button", "reset"].includes(type)) return "button";
  if (tag === "textarea" || tag === "select" || tag === "input" || el.isContentEditable || role === "textbox") return "input";
  if (tag === "a" && el.hasAttribute("href")) return "link";
  return "any";
}
// Every name a person could call the element by, most specific first.
function qvlNames(el) {
  const names = [];
  const add = (t) => { t = qvlNorm(t); if (t && !names.includes(t)) names.push(t); };
  add(el.getAttribute("aria-label"));
  const by = el.getAttribute("aria-labelledby");
  if (by) add(by.split(/\s+/).map((id) => (document.getElementById(id) || {}).innerText || "").join(" "));
  if (el.labels) for (const label of el.labels) add(label.innerText);
  add(el.getAttribute("placeholder"));
  add(el.getAttribute("title"));
  add(el.getAttribute("alt"));
  const tag = el.tagName.toLowerCase();
  if (tag === "input" && ["submit", "button", "reset"].includes((el.type || "").toLowerCase())) add(el.value);
  if (!["input", "textarea", "select"].includes(tag)) add(el.innerText);
  return names;
}
function qvlXpath(el) {
  const parts = [];
  for (; el && el.nodeType === 1; el = el.parentNode) {
    let i = 1;
    for (let s = el.previousElementSibling; s; s = s.previousElementSibling) if (s.tagName === el.tagName) i++;
    parts.unshift(el.tagName.toLowerCase() + "[" + i + "]");
  }
  return "/" + parts.join("/");
}
function qvlResult(el, name) {
  const r = el.getBoundingClientRect();
  // The name is kept short: the cache file stores it, and a container's text can be a page.
  return { x: r.left, y: r.top, w: r.width, h: r.height, xpath: qvlXpath(el), name: name.slice(0, 200),
           kind: qvlKind(el), id: (el.id || "").slice(0, 200) };
}
function qvlScore(name, wanted) {
  if (name === wanted) return 2;
  if (wanted.length >= 3) {
    const esc = wanted.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    if (new RegExp("(^|\\W)" + esc + "($|\\W)").test(name) && name.length <= 4 * wanted.length) return 1;
  }
  return 0;
}
function qvlFind(wanted, role) {
  let best = null;
  for (const el of document.querySelectorAll("body *")) {
    if (["script", "style", "noscript", "option"].includes(el.tagName.toLowerCase())) continue;
    if (!qvlVisible(el)) continue;
    const names = qvlNames(el);
    for (let n = 0; n < names.length; n++) {
      const score = qvlScore(names[n], wanted);
      if (!score) continue;
      const kind = qvlKind(el);
      const fits = !role || role === "any" || role === kind ? 1 : 0;
      const interactive = kind !== "any" ? 1 : 0;
      const r = el.getBoundingClientRect();
      // Best: exact name, the kind asked for, an interactive element, then the smallest one
      // (the text's own element rather than the section around it).
      const key = [score, fits, interactive, -r.width * r.height];
      if (!best || qvlBetter(key, best.key)) best = { key: key, el: el, name: names[n] };
      break;
    }
  }
  // A label names its control: act on the control.
  if (best && best.el.tagName.toLowerCase() === "label" && best.el.control && qvlVisible(best.el.control))
    return qvlResult(best.el.control, best.name);
  return best ? qvlResult(best.el, best.name) : null;
}
function qvlBetter(a, b) {
  for (let i = 0; i < a.length; i++) { if (a[i] !== b[i]) return a[i] > b[i]; }
  return false;
}
function qvlAt(x, y) {
  let el = document.elementFromPoint(x, y);
  if (!el) return null;
  if (el.tagName.toLowerCase() === "label" && el.control) el = el.control;
  return qvlResult(el, qvlNames(el)[0] || "");
}
function qvlByXpath(xpath) {
  let el = null;
  try {
    el = document.evaluate(xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
  } catch (e) { return null; }
  if (!el || el.nodeType !== 1 || !qvlVisible(el)) return null;
  return qvlResult(el, qvlNames(el)[0] || "");
}
