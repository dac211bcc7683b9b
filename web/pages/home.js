/* "/": every school the user may see, those that need looking at first,
 * each with its state, its next standing deadline with the time left and
 * its next alert; the closed cases behind a disclosure. */
"use strict";

ON.page(function () {
  var el = ON.el;
  var status = document.getElementById("status");
  var list = document.getElementById("schools");

  /* Who needs looking at first: a school with a deadline standing, the
   * soonest first; then one whose case is still open; then the rest. Each
   * group by name, so a trust's list reads the same from day to day. */
  function order(schools) {
    /* Each school's place worked out once, not at every comparison. */
    var keyed = schools.map(function (s) {
      var due = s.next_deadline ? ON.parts(s.next_deadline) : null;
      return { s: s, rank: due ? 0 : s["case"] ? 1 : 2, ms: due ? due.ms : 0,
               name: String(s.name || s.urn) };
    });
    keyed.sort(function (a, b) {
      return a.rank - b.rank || a.ms - b.ms || a.name.localeCompare(b.name, "en-GB");
    });
    return keyed.map(function (k) { return k.s; });
  }

  /* "12 schools; an inspection is under way at 2." */
  function counted(schools) {
    var live = schools.filter(function (s) {
      var c = s["case"];
      return c && (c.state === "open" || c.state === "paused");
    }).length;
    if (schools.length === 0) return "You have no schools to see.";
    if (schools.length === 1) return "One school.";
    return schools.length + " schools; " + (live === 0 ?
      "no inspection is under way." :
      "an inspection is under way at " + live + ".");
  }

  function card(s) {
    var c = s["case"];
    var li = el("li", { "data-urn": s.urn },
      el("h2", null, el("a", { href: "/schools/" + s.urn, text: s.name })),
      el("p", { className: "meta", text: "URN " + s.urn + " · " +
        (c ? ON.stateWords(c.state) + " (case " + c.id + ")" : "No inspection under way") }));
    /* The deadline stands until its time or until an event ends it,
     * acknowledged or not: acknowledging stops reminders only. */
    if (s.next_deadline) {
      li.appendChild(el("p", { className: "deadline", text:
        ON.deadline(s.next_deadline_rule, s.next_deadline) +
        (s.acknowledged ? " (in hand)" : "") }));
    }
    if (s.next_alert) {
      li.appendChild(el("p", { text: "Next alert at " + ON.when(s.next_alert.at) +
        " (" + ON.ruleWords(s.next_alert.rule).toLowerCase() + ")." }));
    } else if (c) {
      li.appendChild(el("p", { text: "No reminders to come." }));
    }
    if (c) {
      li.appendChild(el("p", null, el("a", { href: "/cases/" + c.id, text: "The case's timeline" })));
    }
    return li;
  }

  ON.api("/api/v1/schools").then(function (r) {
    var schools = order(r.schools);
    ON.clear(list);
    schools.forEach(function (s) { list.appendChild(card(s)); });
    status.textContent = counted(schools);
    return ON.api("/api/v1/cases?all=true").then(function (cr) {
      var names = {}, box = document.getElementById("closed-box");
      var closed = document.getElementById("closed");
      schools.forEach(function (s) { names[s.urn] = s.name; });
      cr.cases.filter(function (k) { return k.state === "closed" && names[k.school]; })
        .forEach(function (k) {
          closed.appendChild(el("li", null, el("a", { href: "/cases/" + k["case"],
            text: names[k.school] + ", case " + k["case"] + ", opened " + ON.when(k.opened) })));
        });
      box.hidden = closed.children.length === 0;
    });
  }).catch(function (e) { ON.say(status, e.message, true); });
});
