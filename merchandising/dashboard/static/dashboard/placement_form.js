// Placement form: build pins, boosts and buries and per-segment strategies with controls; the
// JSON text areas stay as the advanced view and are what the form submits. The builder reads
// them when the page opens and writes them on every change, before the preview refreshes.
(function () {
  const form = document.getElementById("placement-form");
  if (!form) return;
  const config = JSON.parse(document.getElementById("placement-builder-data").textContent);

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    children.forEach((c) => node.append(c));
    return node;
  }
  function labelled(text, control) {
    return el("label", { class: "inline-field" }, [el("span", { text }), control]);
  }
  function select(options, value) {
    const s = el("select");
    options.forEach(([v, t]) => s.append(el("option", { value: v, text: t })));
    s.value = value;
    return s;
  }
  function parse(textarea, fallback) {
    try {
      const value = JSON.parse(textarea.value || "null");
      return value === null ? fallback : value;
    } catch (e) {
      return null; // hand-written JSON with an error: leave it to the advanced view
    }
  }
  function moveToAdvanced(textarea, summary) {
    const field = textarea.closest(".field");
    const details = el("details", { class: "advanced" }, [el("summary", { text: summary })]);
    field.before(details);
    details.append(field);
    return details;
  }

  // --- rules: pin / boost / bury ------------------------------------------------------------
  const rulesBox = document.getElementById("id_rules");
  const rules = rulesBox && parse(rulesBox, []);
  if (rulesBox && Array.isArray(rules)) {
    const details = moveToAdvanced(rulesBox, "Advanced: rules as JSON");
    const list = el("div", { class: "builder", id: "rule-builder" });
    const section = el("fieldset", {}, [el("legend", { text: "Rules" }), list]);
    details.before(section);
    const write = () => {
      const out = [];
      list.querySelectorAll(".rule").forEach((row) => {
        const action = row.querySelector(".r-action").value;
        if (action === "pin") {
          const sku = row.querySelector(".r-sku").value.trim();
          const position = parseInt(row.querySelector(".r-position").value, 10) || 1;
          if (sku) out.push({ action, sku, position });
        } else {
          const value = row.querySelector(".r-value").value.trim();
          const weight = parseFloat(row.querySelector(".r-weight").value) || 1;
          if (value) out.push({ action, field: row.querySelector(".r-field").value, value, weight });
        }
      });
      rulesBox.value = JSON.stringify(out);
    };
    const addRow = (rule) => {
      const n = list.querySelectorAll(".rule").length + 1;
      const action = select(
        [["pin", "Pin a product"], ["boost", "Boost"], ["bury", "Bury"]],
        rule.action || "boost",
      );
      action.className = "r-action";
      action.setAttribute("aria-label", `Rule ${n}: action`);
      const sku = el("input", { class: "r-sku", value: rule.sku || "", "aria-label": `Rule ${n}: SKU to pin` });
      const position = el("input", { class: "r-position", type: "number", min: "1", max: "100", value: rule.position || 1, "aria-label": `Rule ${n}: position` });
      const field = select(config.rule_fields.map((f) => [f, f]), rule.field || "brand");
      field.className = "r-field";
      field.setAttribute("aria-label", `Rule ${n}: by`);
      const value = el("input", { class: "r-value", value: rule.value || "", "aria-label": `Rule ${n}: value` });
      const weight = el("input", { class: "r-weight", type: "number", min: "0.1", max: "100", step: "0.1", value: rule.weight || 1, "aria-label": `Rule ${n}: weight` });
      const remove = el("button", { type: "button", class: "link danger", text: "Remove" });
      const pinPart = el("span", { class: "pin-part" }, [labelled("SKU", sku), labelled("at position", position)]);
      const boostPart = el("span", { class: "boost-part" }, [labelled("by", field), labelled("value", value), labelled("weight", weight)]);
      const row = el("div", { class: "rule row" }, [action, pinPart, boostPart, remove]);
      const show = () => {
        pinPart.hidden = action.value !== "pin";
        boostPart.hidden = action.value === "pin";
      };
      action.addEventListener("change", show);
      remove.addEventListener("click", () => {
        row.remove();
        write();
        form.dispatchEvent(new Event("change", { bubbles: true }));
      });
      show();
      list.append(row);
    };
    rules.forEach(addRow);
    const add = el("button", { type: "button", class: "secondary", text: "Add a rule" });
    add.addEventListener("click", () => addRow({}));
    section.append(add);
    list.addEventListener("input", write);
    list.addEventListener("change", write);
  }

  // --- strategy per shopper segment, by the segment's name ----------------------------------
  const segBox = document.getElementById("id_segment_strategies");
  const targeting = segBox && parse(segBox, {});
  if (segBox && targeting && typeof targeting === "object" && config.segments.length) {
    const details = moveToAdvanced(segBox, "Advanced: strategy per segment as JSON");
    const rows = el("div", { class: "builder", id: "segment-builder" });
    const choices = [["", "as the placement"]].concat(config.strategies);
    config.segments.forEach(([id, name]) => {
      const s = select(choices, targeting[String(id)] || "");
      s.dataset.segment = String(id);
      rows.append(el("div", { class: "row" }, [labelled(name, s)]));
    });
    const write = () => {
      const out = {};
      rows.querySelectorAll("select").forEach((s) => {
        if (s.value) out[s.dataset.segment] = s.value;
      });
      segBox.value = JSON.stringify(out);
    };
    rows.addEventListener("change", write);
    details.before(el("fieldset", {}, [el("legend", { text: "Strategy per shopper segment" }), rows]));
  }
})();
