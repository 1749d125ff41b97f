
export default function ({ data, parentElement: root }) {
  __STYLE__;
  const sig = JSON.stringify(data);
  if (root.__sig === sig) return;
  root.__sig = sig;
  const line = document.createElement("p"), name = document.createElement("strong"), caption = document.createElement("div");
  line.className = "rk-qh";
  name.textContent = data.label;
  line.append(name, " " + data.text);
  caption.className = "rk-qh-c";
  caption.textContent = data.caption;
  root.replaceChildren(line, caption);
}
