// Decision Console keyboard details the shared keys.js leaves to pages: Enter in an inline form's select
// submits it (a select has no implicit submission), and Escape in an inline form cancels it.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    var form = event.target.closest && event.target.closest("[data-inline-form]");
    if (!form || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Enter" && event.target.matches("select[data-submit-on-enter]")) {
      event.preventDefault();
      if (!event.repeat) { form.requestSubmit(); }
      return;
    }
    if (event.key === "Escape") {
      var cancel = form.querySelector("[data-cancel]");
      if (cancel) { event.preventDefault(); cancel.click(); }
    }
  });
})();
