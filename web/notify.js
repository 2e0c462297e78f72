// foyer's desktop notifications (SPEC §7), on the dashboard and the
// terminal page. A button asks the browser's permission; once granted, a
// session the person can write to (access owner or write) that starts
// wanting attention shows a notification titled OWNER/NAME with the
// message as its body; clicking it opens /s/OWNER/NAME. Read-only
// sessions never notify.
//
// The dashboard feeds it the events of its own /api/events stream
// (window.FoyerNotify); elsewhere it opens one itself. It must not touch
// the terminal: it only adds its button to the page's header.
(function () {
  "use strict";

  // OWNER/NAME -> whether it wanted attention when last heard of.
  var known = {};
  // True once the first burst of the stream (the sessions as they were
  // on connecting) is over: only what starts after that notifies.
  var ready = false;

  function label(s) {
    return s.owner + "/" + s.name;
  }

  function writable(s) {
    return s.access === "owner" || s.access === "write";
  }

  function sessionPath(s) {
    return "/s/" + encodeURIComponent(s.owner) + "/" + encodeURIComponent(s.name);
  }

  function show(s) {
    if (!("Notification" in window) || Notification.permission !== "granted") {
      return;
    }
    var note = new Notification(label(s), {
      body: s.attention_message || "wants attention",
      tag: "foyer-" + label(s),
    });
    note.onclick = function () {
      window.focus();
      window.location.href = sessionPath(s);
      note.close();
    };
  }

  function session(s) {
    var key = label(s);
    var was = known[key];
    known[key] = !!s.attention;
    if (s.attention && was !== true && ready && writable(s)) {
      show(s);
    }
  }

  function removed(s) {
    delete known[label(s)];
  }

  function streamReady() {
    ready = true;
  }

  var listening = false;

  // The terminal page opens its own stream only once notifications are
  // allowed: each stream holds one of the browser's few connections per
  // server (six over HTTP/1.1), shared by all its tabs.
  function listenIfAllowed() {
    if (document.getElementById("dashboard") || listening) {
      return;
    }
    if ("Notification" in window && Notification.permission === "granted") {
      listening = true;
      listen();
    }
  }

  function button() {
    var b = document.getElementById("notify-permission");
    if (!b) {
      var header = document.querySelector("header");
      if (!header) {
        return;
      }
      b = document.createElement("button");
      b.type = "button";
      b.id = "notify-permission";
      b.textContent = "Enable notifications";
      header.insertBefore(b, header.querySelector("form.sign-out"));
    }
    var update = function () {
      b.hidden = !("Notification" in window) || Notification.permission !== "default";
      listenIfAllowed();
    };
    update();
    b.addEventListener("click", function () {
      var asked = Notification.requestPermission(update);
      if (asked && asked.then) {
        asked.then(update);
      }
    });
  }

  function listen() {
    var events = new EventSource("/api/events");
    events.addEventListener("session", function (e) {
      session(JSON.parse(e.data));
    });
    events.addEventListener("removed", function (e) {
      removed(JSON.parse(e.data));
    });
    events.addEventListener("ready", streamReady);
    // A 401 (a guest) closes it for good: EventSource does not retry then.
  }

  window.FoyerNotify = {
    session: session,
    removed: removed,
    ready: streamReady,
    // Whether the stream's first burst is in (for tests and the curious).
    live: function () {
      return ready;
    },
  };

  document.addEventListener("DOMContentLoaded", function () {
    button();
    listenIfAllowed();
  });
})();
