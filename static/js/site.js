// Gazette's only script besides htmx: small behaviours htmx has no attribute for.
// No inline handlers anywhere, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";

  // Send the CSRF token with every htmx request (controls outside a <form> need it).
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  // After a swap, move focus to what the server marked (the new comment), or to
  // the autofocus field of a form that just appeared (a reply form).
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = document.querySelector("[data-gz-focus]");
    if (target) {
      target.removeAttribute("data-gz-focus");
      target.focus({ preventScroll: false });
      return;
    }
    var field = event.target && event.target.querySelector && event.target.querySelector("[autofocus]");
    if (field) field.focus();
  });

  // "Cancel" on an in-place reply or report form closes it instead of navigating.
  document.addEventListener("click", function (event) {
    var cancel = event.target.closest("[data-gz-cancel-reply]");
    if (!cancel) return;
    var slot = cancel.closest(".reply-slot");
    if (!slot) return;
    event.preventDefault();
    var box = slot.closest(".comment__box");
    slot.innerHTML = "";
    if (box) box.focus();
  });

  // A comment went in: empty the comment box for the next one and drop old error
  // messages (the server answered with out-of-band updates only).
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!event.detail.successful || !form.matches || !form.matches("form.comment-form:not(.comment-form--edit)")) return;
    var box = form.querySelector("textarea");
    if (box) box.value = "";
    form.querySelectorAll(".field__error, .form-error").forEach(function (el) { el.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".field--error").forEach(function (el) { el.classList.remove("field--error"); });
  });

  // A network failure must not look like nothing happened.
  document.addEventListener("htmx:sendError", function () {
    var live = document.getElementById("announcer");
    if (live) live.textContent = "Could not reach the site. Check your connection and try again.";
  });
})();
