/* "/", for the trust's and the admins' users: a warning above the schools
 * when a channel has delivered nothing for daemon.channel_stale_after or
 * its last delivery failed for good, or the push monitor refused the
 * heartbeat (GET /api/v1/channels). An alert sent to a dead channel
 * reaches nobody: this is where someone sees it first. */
"use strict";

ON.page(function () {
  ON.whoami().then(function (m) {
    if (m.role !== "trust" && m.role !== "admin") return null;
    return ON.api("/api/v1/channels", { quiet: true }).then(function (r) {
      var lines = [];
      r.channels.forEach(function (c) {
        if (c.warning) lines.push("Channel " + c.channel + ": " + c.warning + ".");
      });
      if (r.heartbeat && r.heartbeat.error) {
        lines.push("The heartbeat to the outside monitor was not delivered: " +
                   r.heartbeat.error + ".");
      }
      if (lines.length === 0) return;
      var list = ON.el("ul");
      lines.forEach(function (l) { list.appendChild(ON.el("li", { text: l })); });
      var box = ON.el("div", { id: "channel-warning", className: "error" },
        ON.el("p", { text: "Alerts may not reach people. Tell IT:" }), list);
      box.setAttribute("role", "alert");
      var status = document.getElementById("status");
      status.parentNode.insertBefore(box, status);
    });
  }).catch(function () { /* the page itself says what went wrong */ });
});
