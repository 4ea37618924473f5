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

/* --- part 2: the reports page (brandkit/web/templates/reports.html) -------------------------
 * The report is framed from /reports/view (sandboxed, no script of its own). Once it has loaded,
 * the frame grows to the report's height so the page scrolls as one; without this script the
 * frame keeps its CSS height and scrolls inside.
 */
(function () {
  "use strict";

  function fitReportFrames() {
    document.querySelectorAll("iframe[data-report-frame]").forEach(function (frame) {
      function fit() {
        var doc;
        try {
          doc = frame.contentDocument;
        } catch (e) {
          return; /* not readable (another origin): keep the CSS height */
        }
        if (!doc || !doc.documentElement) {
          return;
        }
        frame.style.height = doc.documentElement.scrollHeight + 24 + "px";
        frame.classList.add("report-frame-fitted");
      }
      frame.addEventListener("load", fit);
      window.addEventListener("resize", fit);
      if (frame.contentDocument && frame.contentDocument.readyState === "complete") {
        fit();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fitReportFrames);
  } else {
    fitReportFrames();
  }
})();

/* --- part 2: the post editor and the template editor (post_edit.html, template_edit.html) ----
 * As you type, the text goes (300 ms after the last key) to the app's own JSON endpoints, with
 * the page's CSRF token in the X-CSRF-Token header; the answer updates the length counters, the
 * findings and the per-platform previews in place. Only textContent is ever set, so nothing typed
 * or rendered becomes markup, and an older answer arriving after a newer one is ignored. Without
 * this script both editors still work: they show the saved text's checks, and saving or linting
 * checks everything on the server.
 */
(function () {
  "use strict";

  var DELAY_MS = 300;

  function csrfToken() {
    var meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.getAttribute("content") : "";
  }

  function labelsOf(element) {
    try {
      return JSON.parse(element.getAttribute("data-labels") || "{}");
    } catch (e) {
      return {};
    }
  }

  function format(text, values) {
    return String(text || "").replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function postJSON(url, body) {
    return window
      .fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRF-Token": csrfToken()
        },
        body: JSON.stringify(body)
      })
      .then(function (response) {
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) {
          var error = new Error("HTTP " + response.status);
          error.status = response.status;
          throw error;
        }
        return response.json();
      });
  }

  /* work(isLatest) runs DELAY_MS after the last call; isLatest() tells whether it still is */
  function debounced(work) {
    var timer = null;
    var sequence = 0;
    return function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        sequence += 1;
        var mine = sequence;
        work(function () {
          return mine === sequence;
        });
      }, DELAY_MS);
    };
  }

  function clear(element) {
    while (element.firstChild) {
      element.removeChild(element.firstChild);
    }
  }

  function showFindings(list, findings, labels) {
    clear(list);
    (findings || []).forEach(function (f) {
      var item = document.createElement("li");
      item.className = "finding finding-" + f.severity;
      var severity = document.createElement("span");
      severity.className = "severity";
      severity.textContent = f.label || (labels.severity || {})[f.severity] || f.severity;
      var rule = document.createElement("code");
      rule.textContent = f.rule;
      item.appendChild(severity);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(rule);
      item.appendChild(document.createTextNode(" " + f.message));
      if (f.excerpt) {
        var quote = document.createElement("q");
        quote.textContent = f.excerpt;
        item.appendChild(document.createTextNode(" "));
        item.appendChild(quote);
      }
      list.appendChild(item);
    });
  }

  function showLength(element, length, limit, over) {
    if (length === null || length === undefined) {
      element.textContent = "";
    } else {
      element.textContent = limit === null || limit === undefined ? String(length) : length + " / " + limit;
    }
    element.classList.toggle("over", !!over);
  }

  /* the post editor: one live check per variant's textarea */
  function postEditor() {
    var form = document.getElementById("post-editor");
    if (!form) {
      return;
    }
    var url = form.getAttribute("data-check-url");
    var labels = labelsOf(form);
    form.querySelectorAll("textarea[data-check-variant]").forEach(function (area) {
      var id = area.getAttribute("data-check-variant");
      var length = document.getElementById("variant-length-" + id);
      var findings = document.getElementById("variant-findings-" + id);
      var status = document.getElementById("variant-status-" + id);
      var check = debounced(function (isLatest) {
        status.textContent = labels.checking || "";
        postJSON(url, { variant: parseInt(id, 10), text: area.value })
          .then(function (answer) {
            if (!isLatest()) {
              return;
            }
            showLength(length, answer.length, answer.limit, answer.over);
            showFindings(findings, answer.findings, labels);
            status.textContent = "";
          })
          .catch(function (error) {
            if (isLatest()) {
              status.textContent = format(labels.failed, { status: error.status || "?" });
            }
          });
      });
      area.addEventListener("input", check);
    });
  }

  /* the template editor: a preview per platform the (unsaved) source claims */
  function templateEditor() {
    var form = document.getElementById("template-form");
    var source = document.getElementById("template-source");
    var status = document.getElementById("template-status");
    var wholeError = document.getElementById("template-error");
    var previews = document.getElementById("template-previews");
    if (!form || !source || !status || !wholeError || !previews) {
      return;
    }
    var url = form.getAttribute("data-preview-url");
    var labels = labelsOf(form);

    function setStatus(state, text) {
      status.setAttribute("data-state", state);
      status.className = "editor-status editor-status-" + state;
      status.textContent = text;
    }

    function atLine(message, line) {
      return line ? labels.line + " " + line + ": " + message : message;
    }

    function element(tag, className, id) {
      var made = document.createElement(tag);
      if (className) {
        made.className = className;
      }
      if (id) {
        made.id = id;
      }
      return made;
    }

    function panelFor(platform) {
      for (var i = 0; i < previews.children.length; i += 1) {
        if (previews.children[i].getAttribute("data-platform") === platform) {
          return previews.children[i];
        }
      }
      var panel = element("article", "preview");
      panel.setAttribute("data-platform", platform);
      var head = element("div", "variant-head");
      var name = element("strong");
      name.textContent = platform;
      head.appendChild(name);
      head.appendChild(document.createTextNode(" "));
      var length = element("span", "length", "preview-length-" + platform);
      length.title = labels.length || "";
      head.appendChild(length);
      panel.appendChild(head);
      var error = element("p", "finding finding-error", "preview-error-" + platform);
      error.hidden = true;
      panel.appendChild(error);
      panel.appendChild(element("pre", "text preview-text", "preview-" + platform));
      panel.appendChild(element("ul", "findings", "preview-findings-" + platform));
      return panel;
    }

    function fill(panel, p) {
      var error = panel.querySelector("p.finding-error");
      showLength(panel.querySelector(".length"), p.length, p.limit, p.over);
      error.hidden = !p.error;
      error.textContent = p.error ? atLine(p.error, p.line) : "";
      panel.querySelector("pre.preview-text").textContent = p.text || "";
      showFindings(panel.querySelector("ul.findings"), p.findings, labels);
    }

    function firstError(answer) {
      if (answer.error) {
        return atLine(answer.error, answer.line);
      }
      for (var i = 0; i < answer.platforms.length; i += 1) {
        var p = answer.platforms[i];
        if (p.error) {
          return p.platform + ": " + atLine(p.error, p.line);
        }
      }
      return answer.first_error || "";
    }

    function show(answer) {
      wholeError.hidden = !answer.error;
      wholeError.textContent = answer.error ? atLine(answer.error, answer.line) : "";
      previews.classList.toggle("stale", !!answer.error);
      if (!answer.error) {
        var wanted = {};
        answer.platforms.forEach(function (p) {
          var panel = panelFor(p.platform);
          fill(panel, p);
          previews.appendChild(panel); /* in the order the template claims them */
          wanted[p.platform] = true;
        });
        Array.prototype.slice.call(previews.children).forEach(function (panel) {
          if (!wanted[panel.getAttribute("data-platform")]) {
            previews.removeChild(panel);
          }
        });
      }
      if (answer.renders) {
        setStatus("renders", labels.renders);
      } else {
        setStatus("error", format(labels.broken, { error: firstError(answer) }));
      }
    }

    var update = debounced(function (isLatest) {
      postJSON(url, { source: source.value })
        .then(function (answer) {
          if (isLatest()) {
            show(answer);
          }
        })
        .catch(function (error) {
          if (isLatest()) {
            setStatus("error", format(labels.failed, { status: error.status || "?" }));
          }
        });
    });
    source.addEventListener("input", function () {
      setStatus("unsaved", labels.unsaved);
      update();
    });
  }

  function start() {
    postEditor();
    templateEditor();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
