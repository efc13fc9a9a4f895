/*
 * Merchlab storefront widget. Dependency-free, no build step.
 *
 * Embed:
 *   <div data-merchlab-placement="home"></div>
 *   <div data-merchlab-placement="product_similar" data-merchlab-sku="SKU-1" data-merchlab-limit="4"></div>
 *   <script src="https://APP/static/storefront/merchlab-widget.js" data-merchlab-key="pk_..." async></script>
 *
 * Optional script attributes: data-merchlab-api (API origin; default: where the script came from),
 * data-merchlab-visitor (visitor id; default: one kept in localStorage),
 * data-merchlab-product-url (link template, "{sku}" replaced; default "#{sku}"),
 * data-merchlab-theme="none" (render without the default theme; also per placement element).
 *
 * The default theme is a <style id="merchlab-theme"> whose rules all start with .merchlab-themed
 * (the class the widget puts on each themed placement), so it styles nothing else on the page. A
 * shop restyles it by setting custom properties on the placement or an ancestor:
 *   --merchlab-tile-min (10rem), --merchlab-gap (1rem), --merchlab-image-ratio (1 / 1),
 *   --merchlab-radius (.5rem), --merchlab-font (inherit), --merchlab-muted (#5f6368),
 *   --merchlab-accent (inherit), --merchlab-image-fit (cover).
 *
 * For each placement element it asks GET /api/v1/storefront/recommendations, renders the items
 * (all text goes in with textContent, never innerHTML), reports one "impression" per item shown and a
 * "click" when one is followed, each with the answer's request_id, to POST /api/v1/storefront/events.
 * window.Merchlab.track(type, sku) lets the shop report views, add_to_cart and purchase; a sku that
 * came from a placement carries that placement's request_id so the report can attribute it.
 */
(function () {
  "use strict";
  if (window.Merchlab && window.Merchlab._loaded) return;

  var script =
    document.currentScript || document.querySelector("script[data-merchlab-key]");
  if (!script) return;
  var key = script.getAttribute("data-merchlab-key") || "";
  var api = script.getAttribute("data-merchlab-api");
  if (!api) {
    try {
      api = new URL(script.src, window.location.href).origin;
    } catch (e) {
      api = window.location.origin;
    }
  }
  api = api.replace(/\/+$/, "");
  var productUrl = script.getAttribute("data-merchlab-product-url") || "#{sku}";
  var themeOff = script.getAttribute("data-merchlab-theme") === "none";
  var THEME_CSS = [
    ".merchlab-themed{font-family:var(--merchlab-font,inherit)}",
    ".merchlab-themed .merchlab-items{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,var(--merchlab-tile-min,10rem)),1fr));gap:var(--merchlab-gap,1rem);list-style:none;margin:0;padding:0}",
    ".merchlab-themed .merchlab-item{min-width:0;margin:0;padding:0}",
    ".merchlab-themed .merchlab-link{display:flex;flex-direction:column;gap:.25rem;height:100%;color:inherit;text-decoration:none}",
    ".merchlab-themed .merchlab-image{display:block;width:100%;max-width:100%;height:auto;aspect-ratio:var(--merchlab-image-ratio,1 / 1);object-fit:var(--merchlab-image-fit,cover);border-radius:var(--merchlab-radius,.5rem)}",
    ".merchlab-themed .merchlab-title{font-weight:600;line-height:1.3;overflow-wrap:anywhere}",
    ".merchlab-themed .merchlab-description{display:none}",
    ".merchlab-themed .merchlab-price{color:var(--merchlab-accent,inherit);font-variant-numeric:tabular-nums}",
    ".merchlab-themed .merchlab-reason{color:var(--merchlab-muted,#5f6368);font-size:.85em;line-height:1.3}",
  ].join("\n");
  var warned = false;

  function warnOnce(message) {
    if (warned || !window.console) return;
    warned = true;
    console.warn("Merchlab widget: " + message);
  }

  function ensureTheme() {
    if (document.getElementById("merchlab-theme")) return;
    var style = document.createElement("style");
    style.id = "merchlab-theme";
    style.textContent = THEME_CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  function formatPrice(price, currency) {
    var amount = Number(price);
    if (currency && isFinite(amount) && window.Intl && Intl.NumberFormat) {
      try {
        var locale = document.documentElement.lang || undefined;
        return new Intl.NumberFormat(locale, { style: "currency", currency: currency }).format(amount);
      } catch (e) {
        /* an unknown currency code: fall through */
      }
    }
    return price + (currency ? " " + currency : "");
  }
  var VISITOR_KEY = "merchlab_visitor_id";
  var ATTRIB_KEY = "merchlab_attribution";

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var s = "";
    for (var i = 0; i < 32; i++) s += Math.floor(Math.random() * 16).toString(16);
    return s;
  }

  function storageGet(store, name) {
    try {
      return store.getItem(name);
    } catch (e) {
      return null;
    }
  }

  function storageSet(store, name, value) {
    try {
      store.setItem(name, value);
    } catch (e) {
      /* private mode: keep going without persistence */
    }
  }

  var visitorId = script.getAttribute("data-merchlab-visitor") || storageGet(window.localStorage, VISITOR_KEY);
  if (!visitorId) {
    visitorId = uuid();
    storageSet(window.localStorage, VISITOR_KEY, visitorId);
  }

  // sku -> {request_id, placement} of the last placement click, for add_to_cart/purchase attribution.
  function attributions() {
    try {
      return JSON.parse(storageGet(window.sessionStorage, ATTRIB_KEY) || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  function remember(sku, requestId, placement) {
    var all = attributions();
    all[sku] = { request_id: requestId, placement: placement };
    storageSet(window.sessionStorage, ATTRIB_KEY, JSON.stringify(all));
  }

  var queue = [];
  var timer = null;

  function flush(keepalive) {
    timer = null;
    if (!queue.length) return Promise.resolve();
    var batch = queue.splice(0, 500);
    return fetch(api + "/api/v1/storefront/events", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Storefront-Key": key },
      body: JSON.stringify({ events: batch }),
      keepalive: !!keepalive,
      credentials: "omit",
    })
      .then(function (r) {
        if (queue.length) return flush(keepalive);
        return r;
      })
      .catch(function () {
        /* analytics must never break the shop */
      });
  }

  function send(event, now) {
    event.event_id = uuid();
    event.visitor_id = visitorId;
    event.ts = new Date().toISOString();
    queue.push(event);
    if (now) return flush(true);
    if (!timer) timer = setTimeout(flush, 300);
    return Promise.resolve();
  }

  function track(type, sku, extra) {
    var event = { type: type };
    if (sku) {
      event.sku = String(sku);
      var a = attributions()[event.sku];
      if (a && type !== "view") {
        event.request_id = a.request_id;
        event.placement = a.placement;
      }
    }
    if (extra) {
      for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) event[k] = extra[k];
    }
    return send(event, type === "purchase" || type === "add_to_cart");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function render(container, data) {
    var placement = data.placement;
    var requestId = data.request_id;
    while (container.firstChild) container.removeChild(container.firstChild);
    if (!themeOff && container.getAttribute("data-merchlab-theme") !== "none") {
      ensureTheme();
      container.classList.add("merchlab-themed");
    }
    container.setAttribute("data-merchlab-request-id", requestId || "");
    var list = el("ul", "merchlab-items");
    (data.items || []).forEach(function (item, position) {
      var li = el("li", "merchlab-item");
      li.setAttribute("data-sku", item.sku);
      var link = el("a", "merchlab-link");
      link.href = productUrl.split("{sku}").join(encodeURIComponent(item.sku));
      if (item.image_url && /^https?:\/\//i.test(item.image_url)) {
        var img = el("img", "merchlab-image");
        img.src = item.image_url;
        img.alt = item.title || "";
        img.loading = "lazy";
        link.appendChild(img);
      }
      link.appendChild(el("span", "merchlab-title", item.title));
      if (item.description) link.appendChild(el("span", "merchlab-description", item.description));
      if (item.price !== undefined && item.price !== null) {
        link.appendChild(el("span", "merchlab-price", formatPrice(item.price, item.currency)));
      }
      if (item.reason) link.appendChild(el("span", "merchlab-reason", item.reason));
      link.addEventListener("click", function (ev) {
        remember(item.sku, requestId, placement);
        var navigate = link.href && !ev.defaultPrevented && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey;
        if (navigate) ev.preventDefault();
        var done = send(
          { type: "click", sku: item.sku, placement: placement, request_id: requestId, value: position + 1 },
          true
        );
        if (navigate) {
          var go = function () {
            window.location.href = link.href;
          };
          done.then(go, go);
        }
      });
      li.appendChild(link);
      list.appendChild(li);
    });
    container.appendChild(list);
    (data.items || []).forEach(function (item) {
      send({ type: "impression", sku: item.sku, placement: placement, request_id: requestId });
    });
    container.dispatchEvent(new CustomEvent("merchlab:rendered", { bubbles: true, detail: data }));
  }

  function load(container) {
    var placement = container.getAttribute("data-merchlab-placement");
    if (!placement) return Promise.resolve();
    var params = new URLSearchParams({ placement: placement, visitor_id: visitorId });
    var sku = container.getAttribute("data-merchlab-sku");
    if (sku) params.set("sku", sku);
    var limit = container.getAttribute("data-merchlab-limit");
    if (limit) params.set("limit", limit);
    container.setAttribute("aria-busy", "true");
    return fetch(api + "/api/v1/storefront/recommendations?" + params.toString(), {
      headers: { "X-Storefront-Key": key },
      credentials: "omit",
    })
      .then(function (r) {
        if (r.ok) return r.json();
        return r
          .json()
          .catch(function () {
            return {};
          })
          .then(function (body) {
            var why = (body && body.detail) || r.statusText;
            warnOnce("the recommendations request was refused (HTTP " + r.status + "): " + why);
            throw new Error("HTTP " + r.status);
          });
      })
      .then(function (data) {
        render(container, data);
      })
      .catch(function (err) {
        var message = String(err && err.message ? err.message : err);
        if (!/^HTTP /.test(message)) {
          // The browser hides a refusal without CORS headers as a network error.
          warnOnce(
            "could not reach " + api + " (" + message + "). Check that " + window.location.origin +
              " is an allowed storefront origin in Merchlab's settings and that the key is right."
          );
        }
        container.setAttribute("data-merchlab-error", message);
      })
      .then(function () {
        container.removeAttribute("aria-busy");
      });
  }

  function refresh(root) {
    var nodes = (root || document).querySelectorAll("[data-merchlab-placement]");
    return Promise.all(Array.prototype.map.call(nodes, load));
  }

  window.addEventListener("pagehide", function () {
    flush(true);
  });

  window.Merchlab = { _loaded: true, visitorId: visitorId, track: track, refresh: refresh, flush: flush };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      refresh();
    });
  } else {
    refresh();
  }
})();
