/*
 * The case page's acknowledgement buttons (ON.extend("case")): one per
 * rule with an alert still to come, for a person who may record. Pressing
 * one POSTs /api/v1/cases/{id}/acks, which cancels that rule's reminders
 * (but its ack_keeps) and escalations, and says in words what happened.
 */
"use strict";

ON.extend("case", function (c, slot) {
  var el = ON.el, rules = [], acked = {};

  (c.acks || []).forEach(function (a) { acked[a.rule] = a; });
  (c.alerts || []).forEach(function (a) {
    if (a.state === "pending" && rules.indexOf(a.rule) < 0) rules.push(a.rule);
  });
  if (rules.length === 0) return;

  function by(a) {
    return (a.by || "someone").replace(/^user:/, "").replace(/^token:/, "the API token ")
      .replace(/^link:/, "the link sent to ").replace(/^unix:/, "the server account ");
  }

  function button(rule, box) {
    var msg = el("p", { hidden: true });
    var b = el("button", { type: "button", className: "go", "data-rule": rule,
                           text: "Confirm: " + ON.ruleWords(rule) });
    b.addEventListener("click", function () {
      b.disabled = true;
      ON.api("/api/v1/cases/" + encodeURIComponent(c["case"]) + "/acks",
             { method: "POST", body: { rule: rule } }).then(function (r) {
        var a = r.ack;
        b.hidden = true;
        ON.say(msg, a["new"]
          ? "Confirmed: the reminders still to come stop (" + a.cancelled +
            " cancelled). The deadline itself stands."
          : "Already confirmed by " + by(a) + " at " + ON.when(a.at) + ".", false);
      }, function (e) {
        b.disabled = false;
        ON.say(msg, e.message, true);
      });
    });
    box.appendChild(el("div", { className: "ack", "data-rule": rule }, b, msg));
  }

  ON.whoami().then(function (m) {
    if (!m.may_record || m.signin === "feed") return;
    var box = el("section", { "aria-labelledby": "acks-h", id: "acks-box" },
      el("h2", { id: "acks-h", text: "Deadlines in hand?" }),
      el("p", { className: "meta", text: "Confirm a deadline is being dealt with: its reminders stop." }));
    rules.forEach(function (rule) {
      if (acked[rule]) {
        box.appendChild(el("p", { className: "note", "data-rule": rule,
          text: ON.ruleWords(rule) + ": confirmed by " + by(acked[rule]) + " at " + ON.when(acked[rule].at) + "." }));
      } else {
        button(rule, box);
      }
    });
    slot.appendChild(box);
  }, function () {});
});
