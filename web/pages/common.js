/*
 * What every page shares: the API client with its errors in words, an
 * element builder that only ever sets text (never HTML), times in words,
 * the header's "who am I", and a registry through which other scripts
 * add parts to a page (ON.extend("case", fn)).
 */
"use strict";

var ON = (function () {
  var registry = {};

  /* An element with properties and children; strings become text. */
  function el(tag, props) {
    var node = document.createElement(tag);
    var k;
    for (k in props || {}) {
      if (Object.prototype.hasOwnProperty.call(props, k)) {
        if (k === "text") {
          node.textContent = props[k];
        } else if (k.indexOf("data-") === 0 || k.indexOf("aria-") === 0) {
          node.setAttribute(k, props[k]);
        } else {
          node[k] = props[k];
        }
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /* What a failed request means, for people. */
  function words(status, body) {
    var said = body && typeof body.error === "string" ? body.error : "";
    if (status === 0) return "The server cannot be reached. Check your connection and try again.";
    if (status === 503) return "The alert service is not answering just now. Nothing was changed. Try again in a minute; if it goes on, tell whoever runs it.";
    if (status === 403) return said ? "You cannot do this: " + said + "." : "You cannot see or do this.";
    if (status === 404) return said ? "Not found: " + said + "." : "There is nothing at this address.";
    if (status === 409) return "Not recorded: " + (said || "the case does not allow it now") + ".";
    if (status === 400 || status === 422) return "Not accepted: " + (said || "something in the form is wrong") + ".";
    return "Something went wrong (" + status + "). Try again.";
  }

  /*
   * A request to the API: resolves to the JSON body, or rejects with an
   * Error whose message is a sentence. Not signed in: to the sign-in
   * page (unless opts.quiet).
   */
  function api(path, opts) {
    opts = opts || {};
    var init = { method: opts.method || "GET", credentials: "same-origin",
                 headers: { "Accept": "application/json" } };
    if (opts.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    return fetch(path, init).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (body) {
        if (resp.ok) return body;
        if (resp.status === 401 && !opts.quiet) {
          window.location.assign("/signin?m=signin");
        }
        var e = new Error(words(resp.status, body));
        e.status = resp.status;
        throw e;
      });
    }, function () {
      var e = new Error(words(0, null));
      e.status = 0;
      throw e;
    });
  }

  /* A message on the page: a note, or an error, read out at once. */
  function say(node, text, isError) {
    node.textContent = text;
    node.className = isError ? "error" : "note";
    node.setAttribute("role", isError ? "alert" : "status");
    node.hidden = false;
  }

  /* RFC 3339 with an offset: its instant (ms), its local clock, its day. */
  function parts(t) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2})?(Z|[+-]\d{2}:\d{2})$/.exec(t || "");
    if (!m) return null;
    var off = m[6] === "Z" ? 0 : (m[6][0] === "-" ? -1 : 1) *
      (parseInt(m[6].slice(1, 3), 10) * 60 + parseInt(m[6].slice(4, 6), 10));
    return { ms: Date.parse(t), clock: m[4] + ":" + m[5],
             day: m[1] + "-" + m[2] + "-" + m[3], offset: off };
  }

  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  /* "16:30", "16:30 tomorrow", or "16:30 on Tue 5 Mar", in the time's
   * own zone (the trust's). */
  function when(t, now) {
    var p = parts(t);
    if (!p) return t || "";
    now = now === undefined ? Date.now() : now;
    var today = new Date(now + p.offset * 60000).toISOString().slice(0, 10);
    var tomorrow = new Date(now + p.offset * 60000 + 86400000).toISOString().slice(0, 10);
    if (p.day === today) return p.clock;
    if (p.day === tomorrow) return p.clock + " tomorrow";
    var d = new Date(p.day + "T12:00:00Z");
    return p.clock + " on " + DAYS[d.getUTCDay()] + " " + d.getUTCDate() + " " +
      MONTHS[d.getUTCMonth()] + (d.getUTCFullYear() !== new Date(now).getUTCFullYear() ? " " + d.getUTCFullYear() : "");
  }

  /* "3 h 12 min", "2 days 4 h", "under a minute"; past: null. */
  function left(t, now) {
    var p = parts(t);
    now = now === undefined ? Date.now() : now;
    if (!p || p.ms <= now) return null;
    var min = Math.floor((p.ms - now) / 60000);
    if (min < 1) return "under a minute";
    var d = Math.floor(min / 1440), h = Math.floor((min % 1440) / 60), m = min % 60;
    if (d > 0) return d + (d === 1 ? " day" : " days") + (h ? " " + h + " h" : "");
    if (h > 0) return h + " h" + (m ? " " + m + " min" : "");
    return m + " min";
  }

  /* What a rule's deadline is, as a sentence's start. */
  var RULES = {
    deferral_cutoff: "Deferral requests close",
    concern_window: "The window to raise concerns closes",
    pause_expected: "The inspection should resume",
    pause_limit: "A paused inspection must resume",
    pause_limit_fe: "A paused inspection must resume",
    factual_accuracy: "Comments on the draft report are due",
    formal_complaint: "A formal complaint must be made",
    monitoring_due: "Monitoring is due"
  };
  function ruleWords(rule) {
    if (RULES[rule]) return RULES[rule];
    var s = String(rule || "a deadline").replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1) + " is due";
  }

  /* "Deferral requests close in 3 h 12 min, at 16:30". */
  function deadline(rule, due, now) {
    var l = left(due, now);
    return ruleWords(rule) + (l ? " in " + l + ", at " + when(due, now)
                                : " — passed at " + when(due, now));
  }

  var KINDS = {
    notification: "The notification call", pause: "Pause the inspection",
    resume: "The inspection resumes", conclusion: "The inspection concludes",
    deferred: "The inspection is deferred", cancelled: "The inspection is cancelled",
    draft_report: "The draft report arrives", report_published: "The report is published"
  };
  function kindWords(kind) {
    if (KINDS[kind]) return KINDS[kind];
    return String(kind).replace(/_/g, " ");
  }

  var STATES = { open: "Inspection under way", paused: "Inspection paused",
                 concluded: "Inspection concluded", closed: "Closed" };
  function stateWords(state) {
    return STATES[state] || String(state || "No case");
  }

  /* The header: who is signed in; the sign-out button for a session. */
  var me = null;
  function whoami() {
    if (!me) me = api("/api/v1/me", { quiet: true });
    return me;
  }

  function extend(name, fn) {
    (registry[name] = registry[name] || []).push(fn);
  }
  function extensions(name) {
    return registry[name] || [];
  }

  function page(fn) {
    document.addEventListener("DOMContentLoaded", fn);
  }

  page(function () {
    whoami().then(function (m) {
      var who = document.getElementById("who");
      who.textContent = m.actor.replace(/^user:/, "") + " (" + m.role + ")";
      who.hidden = false;
      document.getElementById("signout").hidden = m.signin !== "email";
    }, function () {});
  });

  return { el: el, clear: clear, api: api, say: say, when: when, left: left,
           deadline: deadline, ruleWords: ruleWords, kindWords: kindWords,
           stateWords: stateWords, whoami: whoami, extend: extend,
           extensions: extensions, page: page, parts: parts };
}());
