/* Assay feedback snippet: thumbs or stars, an optional reason and comment, POSTed to an Assay server.
 *
 * <script src="https://assay.example.org/static/feedback.js" data-server="https://assay.example.org"
 *         data-system="credit" data-token="assay_..." data-inference-id="a1b2" data-model-version="gbm@3"
 *         data-scale="2"></script>
 *
 * Renders after the script element, or into every element with a data-assay-feedback attribute (whose own data-*
 * attributes override the script's, e.g. one data-inference-id per answer on the page). Optional: data-scale
 * ("2" thumbs, default; "5" stars), data-categories ("wrong,unclear,..." shows a reason list), data-attributes
 * (a JSON object of slice attributes), data-comment ("false" hides the comment box). The token must be an API
 * token of scope "feedback", and the page's origin must be in the server's ASSAY_FEEDBACK_ORIGINS for the system.
 * No dependencies, no cookies, nothing loaded from elsewhere. */
(function () {
  "use strict";
  var script = document.currentScript;
  var defaults = script ? script.dataset : {};
  var TEXT = { thanks: "Thank you for your feedback.", send: "Send", comment: "Tell us more (optional)",
               reason: "Reason (optional)", failed: "Your feedback could not be sent: " };

  function option(box, name) {
    var value = box.dataset[name];
    return value !== undefined && value !== "" ? value : defaults[name];
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (key) {
      if (key === "text") { node.textContent = props[key]; } else { node.setAttribute(key, props[key]); }
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function render(box) {
    var server = (option(box, "server") || "").replace(/\/+$/, "");
    var system = option(box, "system");
    var token = option(box, "token");
    if (!server || !system || !token) {
      box.textContent = "Assay feedback: data-server, data-system and data-token are required.";
      return;
    }
    var scale = option(box, "scale") === "5" ? 5 : 2;
    var chosen = null;
    var buttons = [];
    var values = scale === 2 ? [1, 0] : [1, 2, 3, 4, 5];
    var rating = el("div", { "class": "assay-feedback-rating", role: "group", "aria-label": "Rate this answer" });
    values.forEach(function (value) {
      var label = scale === 2 ? (value === 1 ? "\uD83D\uDC4D" : "\uD83D\uDC4E") : "\u2605";
      var name = scale === 2 ? (value === 1 ? "Helpful" : "Not helpful") : value + " of 5 stars";
      var button = el("button", { type: "button", "class": "assay-feedback-choice", "data-rating": String(value),
                                  "aria-label": name, "aria-pressed": "false", text: label });
      button.addEventListener("click", function () {
        chosen = value;
        buttons.forEach(function (b) {
          var on = scale === 2 ? Number(b.dataset.rating) === value : Number(b.dataset.rating) <= value;
          b.setAttribute("aria-pressed", String(on));
          b.style.opacity = on ? "1" : "0.45";
        });
        details.hidden = false;
      });
      buttons.push(button);
      rating.appendChild(button);
    });
    var details = el("div", { "class": "assay-feedback-details" });
    details.hidden = true;
    var categories = (option(box, "categories") || "").split(",").filter(function (c) { return c.trim(); });
    var select = null;
    if (categories.length) {
      select = el("select", { "class": "assay-feedback-category", "aria-label": TEXT.reason },
                  [el("option", { value: "", text: TEXT.reason })].concat(categories.map(function (c) {
                    return el("option", { value: c.trim(), text: c.trim() });
                  })));
      details.appendChild(select);
    }
    var comment = null;
    if (option(box, "comment") !== "false") {
      comment = el("textarea", { "class": "assay-feedback-comment", maxlength: "2000", rows: "3",
                                 placeholder: TEXT.comment, "aria-label": TEXT.comment });
      details.appendChild(comment);
    }
    var send = el("button", { type: "button", "class": "assay-feedback-send", text: TEXT.send });
    var status = el("p", { "class": "assay-feedback-status", role: "status" });
    details.appendChild(send);
    send.addEventListener("click", function () {
      var body = { rating: chosen, scale: scale, source: "snippet" };
      var inference = option(box, "inferenceId");
      var version = option(box, "modelVersion");
      if (inference) { body.inference_id = inference; }
      if (version) { body.model_version = version; }
      if (select && select.value) { body.category = select.value; }
      if (comment && comment.value.trim()) { body.comment = comment.value.trim(); }
      var attributes = option(box, "attributes");
      if (attributes) {
        try { body.attributes = JSON.parse(attributes); } catch (e) { status.textContent = TEXT.failed + "data-attributes is not JSON"; return; }
      }
      send.disabled = true;
      fetch(server + "/api/systems/" + encodeURIComponent(system) + "/feedback", {
        method: "POST", mode: "cors", credentials: "omit",
        headers: { "Authorization": "Bearer " + token, "Content-Type": "application/json" },
        body: JSON.stringify(body)
      }).then(function (response) {
        if (response.ok) {
          box.replaceChildren(el("p", { "class": "assay-feedback-thanks", role: "status", text: TEXT.thanks }));
          return null;
        }
        return response.json().then(function (answer) {
          throw new Error((answer && answer.error && answer.error.message) || ("HTTP " + response.status));
        });
      }).catch(function (error) {
        send.disabled = false;
        status.textContent = TEXT.failed + error.message;
      });
    });
    box.replaceChildren(rating, details, status);
  }

  var boxes = document.querySelectorAll("[data-assay-feedback]");
  if (boxes.length) {
    Array.prototype.forEach.call(boxes, render);
  } else if (script) {
    var box = el("div", { "class": "assay-feedback" });
    script.parentNode.insertBefore(box, script.nextSibling);
    render(box);
  }
})();
