/* "/": every school the user may see, its state, its next deadline with
 * the time left, its next alert; the closed cases behind a disclosure. */
"use strict";

ON.page(function () {
  var el = ON.el;
  var status = document.getElementById("status");
  var list = document.getElementById("schools");

  /* The soonest pending deadline of each school: rule and due. */
  function soonest(alerts) {
    var by = {};
    alerts.forEach(function (a) {
      var p = ON.parts(a.due), cur = by[a.school];
      if (p && (!cur || p.ms < ON.parts(cur.due).ms)) by[a.school] = a;
    });
    return by;
  }

  function card(s, next) {
    var c = s["case"];
    var li = el("li", { "data-urn": s.urn },
      el("h2", null, el("a", { href: "/schools/" + s.urn, text: s.name })),
      el("p", { className: "meta", text: "URN " + s.urn + " · " +
        (c ? ON.stateWords(c.state) + " (case " + c.id + ")" : "No inspection under way") }));
    if (next) {
      li.appendChild(el("p", { className: "deadline", text: ON.deadline(next.rule, next.due) }));
    } else if (c) {
      li.appendChild(el("p", { text: "No deadline pending." }));
    }
    if (s.next_alert) {
      li.appendChild(el("p", { text: "Next alert at " + ON.when(s.next_alert.at) +
        " (" + ON.ruleWords(s.next_alert.rule).toLowerCase() + ")." }));
    }
    if (c) {
      li.appendChild(el("p", null, el("a", { href: "/cases/" + c.id, text: "The case's timeline" })));
    }
    return li;
  }

  Promise.all([ON.api("/api/v1/schools"), ON.api("/api/v1/upcoming")]).then(function (r) {
    var schools = r[0].schools, next = soonest(r[1].alerts);
    ON.clear(list);
    schools.forEach(function (s) { list.appendChild(card(s, next[s.urn])); });
    status.textContent = schools.length === 0 ? "You have no schools to see." :
      schools.length === 1 ? "One school." : schools.length + " schools.";
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
