// Dashboard behaviours htmx has no attribute for: "select all", the Undo countdown,
// confirmations on plain forms, closing the inline reply form, and keeping keyboard
// focus on a row after htmx replaced it. No inline handlers, so the CSP forbids them all.
(function () {
  "use strict";

  var UNDO_DEFAULT_SECONDS = 8;

  function selectBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue .js-select"));
  }

  function updateSelection() {
    var boxes = selectBoxes();
    var checked = boxes.filter(function (b) { return b.checked; }).length;
    var all = document.querySelector(".js-select-all");
    if (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    }
    var count = document.getElementById("selected-count");
    if (count) count.textContent = checked ? checked + " selected" : "";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches(".js-select-all")) {
      selectBoxes().forEach(function (b) { b.checked = target.checked; });
      updateSelection();
    } else if (target.matches(".js-select")) {
      updateSelection();
    }
  });

  // Undo stays a few seconds after an action, then the row just says what happened.
  // It waits while the keyboard focus is on it, so nobody loses it mid-reach.
  function armUndo(form) {
    if (form.hasAttribute("data-undo-armed")) return;
    form.setAttribute("data-undo-armed", "");
    var seconds = parseInt(form.getAttribute("data-undo-seconds"), 10) || UNDO_DEFAULT_SECONDS;
    var button = form.querySelector("button");
    var label = button ? button.textContent : "";
    var left = seconds;
    var timer = window.setInterval(function () {
      if (!document.body.contains(form)) { window.clearInterval(timer); return; }
      if (form.contains(document.activeElement) || form.classList.contains("htmx-request")) return;
      left -= 1;
      if (button) button.textContent = label + " (" + left + ")";
      if (left <= 0) {
        window.clearInterval(timer);
        form.remove();
      }
    }, 1000);
  }

  function armAll(root) {
    var scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("form[data-undo-seconds]")) armUndo(scope);
    Array.prototype.forEach.call(scope.querySelectorAll("form[data-undo-seconds]"), armUndo);
  }

  document.addEventListener("htmx:load", function (event) {
    armAll(event.target);
    updateSelection();
  });

  // After a bulk action the rows come back unticked; so must "select all".
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.target && event.target.id === "bulk-form") updateSelection();
  });

  // Keep keyboard users where they were: when the row holding the focus is replaced,
  // focus its notice ("Marked as spam. Undo") instead of dropping to the top of the page.
  var focusedRow = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    focusedRow = active && active.closest ? active.closest(".qrow") : null;
    focusedRow = focusedRow ? focusedRow.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedRow) return;
    var row = document.getElementById(focusedRow);
    focusedRow = null;
    if (!row || row.contains(document.activeElement)) return;
    var target = row.querySelector("[autofocus], .qrow__notice, .qrow__actions button");
    if (!target) return;
    if (!target.matches("button, a, input, textarea, select")) target.setAttribute("tabindex", "-1");
    target.focus();
  });

  // Plain (non-htmx) forms that need a second thought.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // "Cancel" on the inline reply form closes it instead of leaving the page.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest(".js-close-slot");
    if (!cancel) return;
    var slot = cancel.closest(".qrow__slot");
    if (!slot) return;
    event.preventDefault();
    var row = slot.closest(".qrow");
    slot.innerHTML = "";
    var again = row && row.querySelector(".qrow__actions a, .qrow__actions button");
    if (again) again.focus();
  });

  document.addEventListener("DOMContentLoaded", function () {
    armAll(document);
    updateSelection();
  });
})();
