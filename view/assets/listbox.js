
function activate(st, i) {
  const items = st.ul.querySelectorAll('[role="option"]');
  if (st.active >= 0 && items[st.active]) items[st.active].setAttribute("aria-selected", "false");
  st.active = Math.max(-1, Math.min(i, items.length - 1));
  if (st.active >= 0) {
    items[st.active].setAttribute("aria-selected", "true");
    items[st.active].scrollIntoView({block: "nearest"});
    st.input.setAttribute("aria-activedescendant", items[st.active].id);
  } else st.input.removeAttribute("aria-activedescendant");
}
