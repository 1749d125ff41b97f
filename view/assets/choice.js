
let seq = 0;
function segmented(root, data) {
  const id = "rk-seg-" + ++seq, group = document.createElement("div"), label = document.createElement("div"), row = document.createElement("div");
  group.className = "rk-seg";
  group.setAttribute("role", "radiogroup");
  group.setAttribute("aria-labelledby", id);
  label.className = "rk-seg-l";
  label.id = id;
  label.textContent = data.label;
  row.className = "rk-seg-o";
  for (const [value, text] of data.options) {
    const option = document.createElement("label"), input = document.createElement("input"), span = document.createElement("span");
    input.type = "radio";
    input.name = id;
    input.value = value;
    input.checked = value === data.value;
    input.addEventListener("change", () => { if (input.checked) root.__trigger("pick", value); });
    span.textContent = text;
    option.append(input, span);
    row.append(option);
  }
  group.append(label, row);
  return group;
}
function select(root, data) {
  const box = document.createElement("div"), label = document.createElement("label"), menu = document.createElement("select");
  box.className = "rk-sel";
  menu.id = label.htmlFor = "rk-sel-" + ++seq;
  label.textContent = data.label;
  if (data.hide) label.className = "rk-vh";  // named for screen readers, not shown
  menu.addEventListener("change", () => root.__trigger("pick", menu.value));
  menu.append(...data.options.map(([value, text]) => {
    const o = document.createElement("option");
    o.value = value;
    o.textContent = text;
    return o;
  }));
  box.append(label, menu);
  return box;
}
function toggle(root, data) {
  const box = document.createElement("label"), input = document.createElement("input"), span = document.createElement("span");
  box.className = "rk-tog";
  if (data.help) box.title = data.help;
  input.type = "checkbox";
  input.setAttribute("role", "switch");
  input.checked = data.value;
  input.addEventListener("change", () => root.__trigger("set", input.checked));
  span.textContent = data.label;
  box.append(input, span);
  return box;
}
export default function ({ data, parentElement: root, setTriggerValue }) {
  __STYLE__;
  root.__trigger = setTriggerValue;  // the latest mount's, used by the listeners
  const { value, ...shape } = data, sig = JSON.stringify(shape);
  if (root.__sig !== sig) {
    root.__sig = sig;
    root.replaceChildren({ select, segmented, toggle }[data.kind](root, data));
  }
  // A new value alone is set in place: the focused control keeps the focus (arrow keys go on from it).
  // (Streamlit calls this only when the data changed: a local pick the server did not take is not undone.)
  for (const menu of root.querySelectorAll("select")) menu.value = value;
  for (const input of root.querySelectorAll("input")) input.checked = input.type === "checkbox" ? value : input.value === value;
}
