// Who judges: the name is kept in this browser (localStorage) and sent to the server once per session.
const KEY = "rk-judge";
function stored() { try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; } }
function keep(name) { try { if (name) localStorage.setItem(KEY, name); else localStorage.removeItem(KEY); } catch (e) {} }

function form(root, name) {
  const box = document.createElement("div"), label = document.createElement("label"), input = document.createElement("input"), save = document.createElement("button");
  box.className = "rk-jn";
  input.id = label.htmlFor = "rk-jn-input";
  label.textContent = "Your name, to judge documents (kept in this browser)";
  input.type = "text";
  input.maxLength = 100;
  input.value = name;
  input.placeholder = "e.g. ann";
  save.type = "button";
  save.textContent = "Save";
  const go = () => { const v = input.value.trim(); if (!v) return; keep(v); root.__trigger("name", v); };
  save.addEventListener("click", go);
  input.addEventListener("keydown", e => { if (e.key === "Enter") { e.preventDefault(); go(); } e.stopPropagation(); });
  box.append(label, input, save);
  return box;
}
function shown(root, name) {
  const box = document.createElement("div"), b = document.createElement("b"), change = document.createElement("button");
  box.className = "rk-jn";
  b.textContent = name;
  change.type = "button";
  change.className = "rk-jn-change";
  change.textContent = "change";
  change.addEventListener("click", () => { root.replaceChildren(form(root, name)); root.querySelector("input").focus(); });
  box.append("Judging as ", b, " · ", change);
  return box;
}

export default function ({ data, parentElement: root, setTriggerValue }) {
  __STYLE__;
  root.__trigger = setTriggerValue;
  const mine = stored();
  if (!data.name && mine && !root.__sent) { root.__sent = true; setTriggerValue("name", mine); }
  if (root.__name === data.name && root.firstChild) return;
  root.__name = data.name;
  root.replaceChildren(data.name ? shown(root, data.name) : form(root, mine));
}
