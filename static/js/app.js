// Small page behaviours that need no server round trip: list filtering, dismissing the error banner,
// and telling the user when an htmx request could not reach the server at all.
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("[data-filter-list]")) { return; }
    var needle = field.value.trim().toLowerCase();
    var container = document.getElementById(field.getAttribute("data-filter-list"));
    if (!container) { return; }
    container.querySelectorAll("[data-filter-text]").forEach(function (row) {
      row.hidden = needle !== "" && row.getAttribute("data-filter-text").indexOf(needle) === -1;
    });
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-dismiss-banner]")) {
      document.getElementById("error-banner").replaceChildren();
    }
  });

  function networkBanner(message) {
    var banner = document.getElementById("error-banner");
    if (!banner) { return; }
    var box = document.createElement("div");
    box.className = "banner banner-error";
    box.textContent = message;
    banner.replaceChildren(box);
  }

  document.addEventListener("htmx:sendError", function () {
    networkBanner("Runway could not be reached. Check your connection; nothing was changed.");
  });
  document.addEventListener("htmx:timeout", function () {
    networkBanner("Runway took too long to answer. Reload to see the current state.");
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var banner = document.getElementById("error-banner");
    if (banner) { banner.replaceChildren(); }
  });
})();
