/*
 * /cases/{id}: a case's timeline: its events with who recorded them and
 * when, its alerts with their state, and its deliveries by channel with
 * the last error. Other scripts add parts (ON.extend("case", fn): fn(c,
 * slot) with the case as the API gives it and the #case-actions element)
 * after it is shown.
 */
"use strict";

ON.page(function () {
  var el = ON.el;
  var id = window.location.pathname.split("/")[2];
  var status = document.getElementById("status");

  function who(actor) {
    if (!actor) return "someone (not recorded)";
    return actor.replace(/^user:/, "").replace(/^token:/, "the API token ").replace(/^unix:/, "the server account ");
  }

  function events(c) {
    var ol = document.getElementById("events");
    ON.clear(ol);
    c.events.forEach(function (e) {
      var li = el("li", { "data-kind": e.kind },
        el("p", null, el("strong", { text: ON.kindWords(e.kind) }), " at " + ON.when(e.at)),
        el("p", { className: "meta actor", text: "Recorded by " + who(e.actor) + " at " + ON.when(e.recorded) + "." }));
      if (e.contact) li.appendChild(el("p", { text: e.contact }));
      if (e.note) li.appendChild(el("p", { text: e.note }));
      ol.appendChild(li);
    });
    document.getElementById("events-box").hidden = false;
  }

  var ALERT_STATES = { pending: "to come", fired: "sent", cancelled: "cancelled", missed: "missed" };

  function alerts(c) {
    var ul = document.getElementById("alerts");
    ON.clear(ul);
    c.alerts.forEach(function (a) {
      ul.appendChild(el("li", { "data-state": a.state },
        el("p", { className: "deadline", text: ON.deadline(a.rule, a.due) }),
        el("p", { className: a.late ? "late" : "meta",
          text: "Alert " + a.offset + " at " + ON.when(a.at) + ": " + (ALERT_STATES[a.state] || a.state) +
            (a.late ? ", late" : "") + "." })));
    });
    if (c.alerts.length === 0) ul.appendChild(el("li", { text: "No alerts." }));
    document.getElementById("alerts-box").hidden = false;
  }

  function deliveries(c) {
    return ON.api("/api/v1/history?school=" + encodeURIComponent(c.school) + "&limit=1000").then(function (h) {
      var ul = document.getElementById("deliveries"), by = {}, names = [];
      ON.clear(ul);
      h.deliveries.filter(function (d) { return d["case"] === c["case"]; }).forEach(function (d) {
        if (!by[d.channel]) { by[d.channel] = []; names.push(d.channel); }
        by[d.channel].push(d);
      });
      names.forEach(function (n) {
        var list = by[n], sent = list.filter(function (d) { return d.status === "delivered"; }).length;
        var li = el("li", { "data-channel": n },
          el("p", null, el("strong", { text: n }), " (" + list[0].type + "): " + sent + " of " + list.length + " delivered"));
        var errors = list.filter(function (d) { return d.last_error; });
        if (errors.length) {
          li.appendChild(el("p", { className: "late", text: "Last error: " + errors[0].last_error + " (" + errors[0].status + ")" }));
        }
        ul.appendChild(li);
      });
      if (names.length === 0) ul.appendChild(el("li", { text: "Nothing sent yet." }));
      document.getElementById("deliveries-box").hidden = false;
    });
  }

  ON.api("/api/v1/cases/" + encodeURIComponent(id)).then(function (r) {
    var c = r["case"];
    document.getElementById("title").textContent = "Case " + c["case"] + ": school " + c.school;
    document.getElementById("back").href = "/schools/" + c.school;
    document.getElementById("back").textContent = "The school's page";
    status.textContent = ON.stateWords(c.state) + ", opened " + ON.when(c.opened) +
      (c.closed ? ", closed " + ON.when(c.closed) : "") + ".";
    /* The school's name, when the user sees it in the list. */
    ON.api("/api/v1/schools").then(function (s) {
      s.schools.forEach(function (x) {
        if (x.urn === c.school) document.getElementById("title").textContent = x.name + ": case " + c["case"];
      });
    }, function () {});
    events(c);
    alerts(c);
    ON.extensions("case").forEach(function (fn) { fn(c, document.getElementById("case-actions")); });
    return deliveries(c);
  }).catch(function (e) {
    document.getElementById("title").textContent =
      e.status === 403 ? "Not one of your cases" : e.status === 404 ? "No such case" : "Case";
    ON.say(status, e.message, true);
  });
});
