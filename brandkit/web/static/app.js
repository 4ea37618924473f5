/* brandkit dashboard: small progressive enhancements. Every page works without this script.
 * Vendored, no build step, no network requests: it only changes what is already on the page.
 *   - forms with data-confirm ask before they are sent (cancel a post, remove a user);
 *   - a form's buttons are disabled once it is sent, so a double click sends it once;
 *   - textareas with data-counter show how many characters are left;
 *   - opening a <details> form focuses its first field;
 *   - the queue can show only the posts that need action (remembered in localStorage);
 *   - the add-user form shows the doctor-profile field only for the doctor role.
 */
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) {
          event.preventDefault();
          event.stopImmediatePropagation();
        }
      });
    });
  }

  function sendOnce() {
    document.querySelectorAll("form[method='post']").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          form.querySelectorAll("button[type='submit']").forEach(function (button) {
            button.disabled = true;
          });
        }, 0);
      });
    });
  }

  function counters() {
    document.querySelectorAll("textarea[data-counter][maxlength]").forEach(function (area) {
      var max = parseInt(area.getAttribute("maxlength"), 10);
      var out = document.createElement("span");
      out.className = "counter muted";
      out.setAttribute("aria-live", "polite");
      area.insertAdjacentElement("afterend", out);
      function update() {
        out.textContent = area.value.length + " / " + max;
      }
      area.addEventListener("input", update);
      update();
    });
  }

  function focusDetails() {
    document.querySelectorAll("details").forEach(function (details) {
      details.addEventListener("toggle", function () {
        if (!details.open) {
          return;
        }
        var field = details.querySelector("textarea, input:not([type='hidden']), select");
        if (field) {
          field.focus();
        }
      });
    });
  }

  function needsActionFilter() {
    var label = document.querySelector("[data-filter]");
    var toggle = document.querySelector("[data-filter-toggle]");
    if (!label || !toggle) {
      return;
    }
    var key = "brandkit.queue.onlyNeedsAction";
    function apply() {
      document.body.classList.toggle("only-needs-action", toggle.checked);
      try {
        window.localStorage.setItem(key, toggle.checked ? "1" : "0");
      } catch (e) {
        /* storage may be disabled: the filter still works for this page */
      }
    }
    try {
      toggle.checked = window.localStorage.getItem(key) === "1";
    } catch (e) {
      toggle.checked = false;
    }
    label.hidden = false;
    toggle.addEventListener("change", apply);
    apply();
  }

  function roleForm() {
    document.querySelectorAll("form[data-role-form]").forEach(function (form) {
      var select = form.querySelector("[data-role-select]");
      var field = form.querySelector("[data-profile-field]");
      if (!select || !field) {
        return;
      }
      function update() {
        field.hidden = select.value !== "doctor";
      }
      select.addEventListener("change", update);
      update();
    });
  }

  onReady(function () {
    confirmForms();
    sendOnce();
    counters();
    focusDetails();
    needsActionFilter();
    roleForm();
  });
})();
