/* /signin: what the last form did, from the address's ?m=. */
"use strict";

ON.page(function () {
  var said = {
    sent: "If that address may use this service, a sign-in link is on its way to it. Open it within 15 minutes.",
    expired: "That sign-in link has been used or has expired. Ask for a new one below.",
    out: "You have signed out.",
    signin: "Please sign in to see your schools.",
    off: "Signing in by email is not switched on here. Ask whoever runs this service.",
    address: "Please enter an email address."
  };
  var m = new URLSearchParams(window.location.search).get("m");
  if (m && said[m]) {
    ON.say(document.getElementById("message"), said[m], m === "expired" || m === "off" || m === "address");
  }
});
