/* Demo shop behaviour (not part of the widget): a cart in localStorage, and the shop's own
 * view / add_to_cart / purchase events sent through window.Merchlab.track. Runs before the widget
 * script so the cart placement knows the cart's last product. */
(function () {
  "use strict";
  var CART = "merchlab_demo_cart";

  function cart() {
    try {
      return JSON.parse(localStorage.getItem(CART) || "[]");
    } catch (e) {
      return [];
    }
  }

  function save(items) {
    localStorage.setItem(CART, JSON.stringify(items));
  }

  function draw() {
    var items = cart();
    document.getElementById("cart-count").textContent = String(items.length);
    var list = document.getElementById("cart-items");
    while (list.firstChild) list.removeChild(list.firstChild);
    items.forEach(function (sku) {
      var li = document.createElement("li");
      li.textContent = sku;
      list.appendChild(li);
    });
    document.getElementById("buy").disabled = items.length === 0;
    var box = document.getElementById("cart-recommendations");
    var slot = document.getElementById("cart-complete");
    if (items.length) {
      box.hidden = false;
      slot.setAttribute("data-merchlab-sku", items[items.length - 1]);
    } else {
      box.hidden = true;
      slot.removeAttribute("data-merchlab-sku");
    }
  }

  function whenWidget(fn) {
    if (window.Merchlab) return fn(window.Merchlab);
    window.addEventListener("load", function () {
      if (window.Merchlab) fn(window.Merchlab);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    if (!cart().length) {
      // An empty cart placement is not asked for.
      var slot = document.getElementById("cart-complete");
      slot.removeAttribute("data-merchlab-placement");
      slot.setAttribute("data-placement-later", "cart_complete");
    }
    var product = document.querySelector("article.product");
    if (product) {
      whenWidget(function (m) {
        m.track("view", product.getAttribute("data-sku"));
      });
    }
    document.querySelectorAll(".add-to-cart").forEach(function (button) {
      button.addEventListener("click", function () {
        var sku = button.getAttribute("data-sku");
        var items = cart();
        items.push(sku);
        save(items);
        draw();
        var slot = document.getElementById("cart-complete");
        slot.setAttribute("data-merchlab-placement", "cart_complete");
        whenWidget(function (m) {
          m.track("add_to_cart", sku);
          m.refresh(document.getElementById("cart"));
        });
      });
    });
    document.getElementById("buy").addEventListener("click", function () {
      var items = cart();
      whenWidget(function (m) {
        items.forEach(function (sku) {
          m.track("purchase", sku, { value: 1 });
        });
      });
      save([]);
      draw();
      document.getElementById("cart-title").textContent = "Cart: thank you for your order!";
    });
  });
})();
