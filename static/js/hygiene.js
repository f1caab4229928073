// Hygiene Tray keyboard flow that keys.js does not cover: after an action clears a row, the next row is selected;
// an opened panel gets the focus its form asks for; Esc closes a panel; the 30 s poll waits while a panel is open.
(function () {
  "use strict";

  function keys() { return window.RunwayKeys; }

  function nextRow(from) {
    var all = Array.prototype.slice.call(document.querySelectorAll("#tray [data-keynav-item]"));
    var after = all.filter(function (row) {
      return !row.hidden && (from.compareDocumentPosition(row) & Node.DOCUMENT_POSITION_FOLLOWING);
    });
    if (after.length) { return after[0]; }
    var before = all.filter(function (row) { return !row.hidden; });
    return before.length ? before[before.length - 1] : null;
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.elt;
    if (!target || !target.matches) { return; }
    var row = target.matches("li.issue") ? target : document.getElementById(target.id);
    if (!row) { return; }
    if (row.hasAttribute("data-cleared")) {
      var next = nextRow(row);
      if (next && keys()) { keys().select(next); }
      return;
    }
    var wanted = row.querySelector("[data-panel] [autofocus]");
    if (wanted) { wanted.focus(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !event.target.closest) { return; }
    var panel = event.target.closest("[data-panel]");
    var cancel = panel && panel.parentElement.querySelector("[data-panel-cancel]");
    if (cancel) { cancel.click(); event.preventDefault(); }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    if (source && source.hasAttribute && source.hasAttribute("data-tray-poll") && document.querySelector("#tray [data-panel]")) {
      event.preventDefault();
    }
  });
})();
