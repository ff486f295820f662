// The dashboard's few behaviours, kept in this file because the
// Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  function say(button, text) {
    var status = button.parentElement && button.parentElement.querySelector(".copy-status");
    if (status) {
      status.textContent = text;
    }
  }

  // When the clipboard API is unavailable (plain HTTP away from localhost),
  // select the text so the person can copy it with the keyboard.
  function selectText(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // Copy buttons name the element whose text they copy: data-copy-from="id".
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-from]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy-from"));
    if (!source) {
      return;
    }
    var text = source.textContent;
    function fallback() {
      selectText(source);
      say(button, "Selected: press Ctrl+C (⌘C) to copy.");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(button, "Copied.");
      }, fallback);
    } else {
      fallback();
    }
  });

  // A new request from an element clears the error shown next to it.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var element = event.detail.elt;
    if (element && element.id) {
      var slot = document.getElementById(element.id + "-error");
      if (slot) {
        slot.textContent = "";
      }
    }
  });

  // Forms marked data-reset-on-success empty themselves once their write succeeded.
  document.addEventListener("htmx:afterRequest", function (event) {
    var element = event.detail.elt;
    if (event.detail.successful && element.matches("form[data-reset-on-success]")) {
      element.reset();
    }
  });

  // A secret's panel that was just loaded gets the focus, so keyboard and
  // screen-reader users land on what they opened.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "secret-detail") {
      var heading = target.querySelector("#detail-heading, .notice");
      if (heading) {
        if (!heading.hasAttribute("tabindex")) {
          heading.setAttribute("tabindex", "-1");
        }
        heading.focus();
      }
    }
  });
})();
