// Keyboard layer: j/k move through [data-keynav] lists, Enter opens, "/" focuses a filter, "?" toggles help,
// and any other key clicks the matching [data-hotkey] (inside the selected row first). Keys never fire while
// typing in a field, and a held key does not repeat an action.
(function () {
  "use strict";
  var TYPING = "input, textarea, select, [contenteditable=''], [contenteditable='true']";

  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }
  function list() { return document.querySelector("main [data-keynav]"); }
  function items() {
    var l = list();
    return l ? Array.prototype.filter.call(l.querySelectorAll("[data-keynav-item]"), visible) : [];
  }
  function current() { return document.querySelector("[data-keynav-item].is-selected"); }

  function select(item) {
    var previous = current();
    if (previous && previous !== item) { previous.classList.remove("is-selected"); previous.removeAttribute("aria-current"); }
    if (!item) { return; }
    item.classList.add("is-selected");
    item.setAttribute("aria-current", "true");
    if (!item.hasAttribute("tabindex")) { item.setAttribute("tabindex", "-1"); }
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
    window.sessionStorage.setItem("keynav:" + location.pathname, item.id || "");
  }

  function move(step) {
    var all = items();
    if (!all.length) { return; }
    var index = all.indexOf(current());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    select(all[next]);
  }

  function help(show) {
    var overlay = document.getElementById("shortcut-help");
    if (!overlay) { return; }
    overlay.hidden = show === undefined ? !overlay.hidden : !show;
    if (!overlay.hidden) { overlay.querySelector("[data-close-help]").focus(); }
  }

  function hotkey(key) {
    var scope = current();
    var target = scope && scope.querySelector("[data-hotkey='" + CSS.escape(key) + "']");
    if (!target) {
      target = Array.prototype.find.call(document.querySelectorAll("[data-hotkey='" + CSS.escape(key) + "']"),
        function (el) { return !el.closest("[data-keynav-item]") && visible(el); });
    }
    if (target && !target.disabled && target.getAttribute("aria-disabled") !== "true") { target.click(); return true; }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    var overlayOpen = !document.getElementById("shortcut-help").hidden;
    if (key === "Escape") {
      if (overlayOpen) { help(false); event.preventDefault(); }
      else if (event.target.closest && event.target.closest(TYPING)) { event.target.blur(); }
      return;
    }
    if (event.target.closest && event.target.closest(TYPING)) { return; }
    if (event.repeat) { event.preventDefault(); return; }
    if (key === "?") { help(); event.preventDefault(); return; }
    if (overlayOpen) { return; }
    if (key === "j" || (key === "ArrowDown" && list())) { move(1); event.preventDefault(); return; }
    if (key === "k" || (key === "ArrowUp" && list())) { move(-1); event.preventDefault(); return; }
    if (key === "Enter" && current() && event.target === current()) {
      var open = current().querySelector("[data-keynav-open]");
      if (open) { open.click(); event.preventDefault(); }
      return;
    }
    if (key === "/") {
      var field = document.querySelector("[data-hotkey-focus='/']");
      if (field) { field.focus(); field.select(); event.preventDefault(); }
      return;
    }
    if (key.length === 1 && hotkey(key)) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-close-help]")) { help(false); }
    var row = event.target.closest("[data-keynav-item]");
    if (row) { select(row); }
  });

  // After htmx replaces a row, keep the selection on the same row id, or on the row now in its place.
  document.addEventListener("htmx:afterSettle", function () {
    var wanted = window.sessionStorage.getItem("keynav:" + location.pathname);
    if (current() || !wanted) { return; }
    var again = document.getElementById(wanted);
    if (again && again.matches("[data-keynav-item]")) { select(again); }
  });

  window.RunwayKeys = { select: select, move: move, help: help };
  // Keys pressed before this deferred script ran are lost; say when the page listens.
  document.documentElement.setAttribute("data-keys", "ready");
})();
