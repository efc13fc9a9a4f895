// Small dashboard behaviours that need no framework.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.createElement("p");
  box.className = "error";
  box.setAttribute("role", "alert");
  box.textContent = `The server answered ${event.detail.xhr.status}; please retry.`;
  event.detail.target.prepend(box);
});

// The navigation collapses into a Menu button on narrow screens.
document.addEventListener("click", (event) => {
  const toggle = event.target.closest(".menu-toggle");
  if (!toggle) return;
  const bar = toggle.closest(".topbar");
  const open = bar.classList.toggle("nav-open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});

// Destructive actions ask first: a form (or its submit button) with data-confirm="question"
// submits only on OK.
document.addEventListener("submit", (event) => {
  const question = event.submitter?.dataset.confirm || event.target.dataset?.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Wide tables scroll in their own box; a box that scrolls can take keyboard focus so that
// keyboard users can scroll it too.
function boxTables(root) {
  root.querySelectorAll("table.grid").forEach((table) => {
    let box = table.parentElement;
    if (!box.classList.contains("table-scroll")) {
      box = document.createElement("div");
      box.className = "table-scroll";
      table.before(box);
      box.append(table);
    }
    if (box.scrollWidth > box.clientWidth + 1) {
      box.tabIndex = 0;
      const heading = table.getAttribute("aria-label") || table.id || "table";
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", `${heading} (scrolls sideways)`);
    } else if (box.getAttribute("role") === "region") {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  });
}
document.addEventListener("DOMContentLoaded", () => boxTables(document));
document.addEventListener("htmx:afterSettle", (event) => boxTables(event.detail.elt || document));
window.addEventListener("resize", () => boxTables(document));

// The Content page's product picker: "Add SKU" puts the SKU into the SKUs box (once) and
// chooses the "These products" scope.
document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-sku]");
  if (!add) return;
  const box = document.getElementById("id_skus");
  if (!box) return;
  const skus = box.value.split(/[\s,]+/).filter(Boolean);
  if (!skus.includes(add.dataset.addSku)) skus.push(add.dataset.addSku);
  box.value = skus.join(" ");
  const scope = document.querySelector("input[name=scope][value=skus]");
  if (scope) scope.checked = true;
  add.textContent = `Added ${add.dataset.addSku}`;
  add.disabled = true;
});

// Copy buttons: <button data-copy-target="id"> copies that element's text with the clipboard
// API; where the browser refuses (no permission, not a secure context), the text is selected
// so that Ctrl+C copies it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copyTarget);
  if (!source) return;
  const status = button.parentElement.querySelector("[data-copy-status]");
  const say = (text) => { if (status) status.textContent = text; };
  const selectIt = () => {
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say("Selected: press Ctrl+C (⌘C) to copy.");
  };
  if (!navigator.clipboard) { selectIt(); return; }
  navigator.clipboard.writeText(source.textContent).then(() => say("Copied."), selectIt);
});
