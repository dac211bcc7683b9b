/*
 * /schools/{urn}: the big "We've had the call" button, then the events
 * the case allows next. Each first shows what it would set (the API's
 * plan) and is recorded only when confirmed.
 */
"use strict";

ON.page(function () {
  var el = ON.el;
  var urn = window.location.pathname.split("/")[2];
  var status = document.getElementById("status");
  var atInput = document.getElementById("call-at");
  var contactInput = document.getElementById("call-contact");
  var callConfirm = document.getElementById("call-confirm");
  var defaultAt = "";
  /* The kinds offered after the call, in the order they come. */
  var NEXT = ["pause", "resume", "conclusion", "deferred", "cancelled",
              "draft_report", "report_published"];

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localNow() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function planPath(kind, at) {
    return "/api/v1/plan?school=" + encodeURIComponent(urn) + "&event=" +
      encodeURIComponent(kind) + (at ? "&at=" + encodeURIComponent(at) : "");
  }

  /* The deadlines a plan sets, as a list. */
  function deadlines(plan) {
    if (plan.deadlines.length === 0) return el("p", { text: "It sets no deadline." });
    var ul = el("ul", { className: "deadlines" });
    plan.deadlines.forEach(function (d) {
      ul.appendChild(el("li", { className: "deadline", text: ON.deadline(d.rule, d.due) }));
    });
    return ul;
  }

  /*
   * Shows in `box` what recording `kind` would do, with a confirm and a
   * cancel button; `body` is what is posted on confirm.
   */
  function confirmStep(box, kind, body, label) {
    ON.clear(box);
    box.hidden = false;
    box.appendChild(el("p", { text: "Working out what this sets…" }));
    return ON.api(planPath(kind, body.at)).then(function (plan) {
      ON.clear(box);
      if (plan.refused) {
        box.appendChild(el("p", { className: "error", role: "alert", text: "This cannot be recorded now: " + plan.refused }));
        box.appendChild(el("button", { type: "button", text: "Close", onclick: function () { box.hidden = true; } }));
        return;
      }
      box.appendChild(el("h3", { text: ON.kindWords(kind) + " at " + ON.when(plan.at) }));
      box.appendChild(el("p", { text: "Recording it sets:" }));
      box.appendChild(deadlines(plan));
      plan.warnings.forEach(function (w) { box.appendChild(el("p", { className: "late", text: w })); });
      var yes = el("button", { type: "button", className: "go", text: label });
      var no = el("button", { type: "button", text: "Cancel" });
      var result = el("p", { role: "status" });
      yes.onclick = function () {
        yes.disabled = true;
        body.kind = kind;
        ON.api("/api/v1/schools/" + encodeURIComponent(urn) + "/events", { method: "POST", body: body })
          .then(function () {
            ON.clear(box);
            var done = el("p", { className: "note", role: "status",
              text: "Recorded: " + ON.kindWords(kind).toLowerCase() + " at " + ON.when(plan.at) + "." });
            box.appendChild(done);
            box.appendChild(deadlines(plan));
            box.focus();
            return load();
          }, function (e) { yes.disabled = false; ON.say(result, e.message, true); });
      };
      no.onclick = function () { box.hidden = true; };
      box.appendChild(yes);
      box.appendChild(no);
      box.appendChild(result);
      box.focus();
    }, function (e) { ON.clear(box); box.appendChild(el("p", { className: "error", role: "alert", text: e.message })); });
  }

  /* The events the case allows next: those the plan does not refuse. */
  function nextEvents() {
    var list = document.getElementById("events");
    return Promise.all(NEXT.map(function (k) {
      return ON.api(planPath(k)).then(function (p) { return p; }, function () { return null; });
    })).then(function (plans) {
      ON.clear(list);
      plans.forEach(function (p, i) {
        if (!p || p.refused) return;
        var kind = NEXT[i];
        var box = el("div", { className: "confirm", hidden: true, tabIndex: -1 });
        var b = el("button", { type: "button", text: ON.kindWords(kind) + "…" });
        b.onclick = function () { confirmStep(box, kind, {}, "Yes, record it"); };
        list.appendChild(el("li", { "data-kind": kind },
          el("p", { text: p.deadlines.length ? "Sets " + p.deadlines.length + (p.deadlines.length === 1 ? " deadline." : " deadlines.") : "Sets no deadline." }),
          b, box));
      });
      document.getElementById("next").hidden = list.children.length === 0;
    });
  }

  function load() {
    return Promise.all([ON.whoami(), ON.api("/api/v1/schools")]).then(function (r) {
      var me = r[0], school = null;
      r[1].schools.forEach(function (s) { if (s.urn === urn) school = s; });
      if (!school) {
        /* Not listed: ask for it, to say why in the API's words. */
        return ON.api("/api/v1/upcoming?school=" + encodeURIComponent(urn)).then(function () {
          throw new Error("This school is not one of yours.");
        });
      }
      document.getElementById("name").textContent = school.name;
      document.title = school.name + " · Ofsted alerts";
      var c = school["case"];
      status.className = "";
      status.textContent = c ? ON.stateWords(c.state) + " (case " + c.id + ")." : "No inspection under way.";
      if (c) {
        document.getElementById("case-a").href = "/cases/" + c.id;
        document.getElementById("case-link").hidden = false;
      }
      if (me.may_record && me.signin !== "feed") {
        document.getElementById("call").hidden = false;
        return nextEvents();
      }
      status.textContent += " You can see this school but not record events for it.";
    });
  }

  defaultAt = localNow();
  atInput.value = defaultAt;
  document.getElementById("call-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = {};
    if (atInput.value && atInput.value !== defaultAt) body.at = atInput.value;
    if (contactInput.value.trim()) body.contact = "Senior Ofsted contact: " + contactInput.value.trim();
    confirmStep(callConfirm, "notification", body, "Yes, record the call");
  });

  load().catch(function (e) {
    document.getElementById("name").textContent =
      e.status === 403 ? "Not one of your schools" : e.status === 404 ? "No such school" : "School";
    ON.say(status, e.message, true);
  });
});
