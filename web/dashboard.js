// foyer's dashboard (SPEC §7): one card per session the person can see,
// kept live from /api/events (session, removed, screen, ready), with the
// screen's text as a preview (GET /api/sessions/OWNER/NAME/screen), who is
// attached (GET /api/sessions/OWNER/NAME), a filter, and the actions: open,
// watch, new, kill (asks first), share and guest link.
//
// It must not keep anything the server did not say: every card is drawn
// from the last event of its session.
(function () {
  "use strict";

  var cards = document.getElementById("cards");
  var filter = document.getElementById("filter");
  var live = document.getElementById("live");
  var empty = document.getElementById("empty");
  // OWNER/NAME -> {session, parts, fetching: {screen, details}, dirty: {...}}
  var shown = {};
  var cleared = false;

  function label(s) {
    return s.owner + "/" + s.name;
  }

  function apiPath(s) {
    return "/api/sessions/" + encodeURIComponent(s.owner) + "/" + encodeURIComponent(s.name);
  }

  function pagePath(s) {
    return "/s/" + encodeURIComponent(s.owner) + "/" + encodeURIComponent(s.name);
  }

  // The pages' referrer policy is no-referrer, with which a browser sends
  // `Origin: null` on a POST; this request's own policy lets it send the
  // real origin, which the API checks.
  function call(method, url, body) {
    var init = { method: method, referrerPolicy: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (response) {
      if (response.status === 204) {
        return null;
      }
      return response.json().then(function (json) {
        if (!response.ok) {
          throw new Error(json.error || "HTTP " + response.status);
        }
        return json;
      });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + "m";
    }
    if (seconds < 86400) {
      return Math.floor(seconds / 3600) + "h" + (Math.floor(seconds / 60) % 60) + "m";
    }
    return Math.floor(seconds / 86400) + "d";
  }

  function secondsSince(iso) {
    var then = Date.parse(iso);
    return isNaN(then) ? 0 : (Date.now() - then) / 1000;
  }

  function button(text, className) {
    var b = el("button", className, text);
    b.type = "button";
    return b;
  }

  // The panel under a card's actions: one at a time (kill, share, link).
  function openPanel(card, which) {
    ["kill", "share", "link"].forEach(function (name) {
      card.panels[name].hidden = name !== which;
    });
    card.message.textContent = "";
  }

  function killPanel(card) {
    var panel = el("div", "panel kill-panel");
    panel.hidden = true;
    panel.appendChild(el("span", "", "Kill " + card.key + "? Its program ends."));
    var yes = button("Kill", "confirm-kill danger");
    var no = button("Cancel", "cancel");
    yes.addEventListener("click", function () {
      call("DELETE", apiPath(card.session)).then(
        function () {
          card.message.textContent = "killed";
        },
        function (error) {
          card.message.textContent = error.message;
        }
      );
      panel.hidden = true;
    });
    no.addEventListener("click", function () {
      panel.hidden = true;
    });
    panel.appendChild(yes);
    panel.appendChild(no);
    return panel;
  }

  function sharePanel(card) {
    var panel = el("form", "panel share-panel");
    panel.hidden = true;
    var user = el("input");
    user.name = "user";
    user.placeholder = "user";
    user.setAttribute("aria-label", "user to share with");
    var mode = el("select");
    mode.name = "mode";
    [["read", "read"], ["write", "read/write"]].forEach(function (pair) {
      var option = el("option", "", pair[1]);
      option.value = pair[0];
      mode.appendChild(option);
    });
    var go = button("Share", "do-share");
    go.type = "submit";
    panel.appendChild(user);
    panel.appendChild(mode);
    panel.appendChild(go);
    panel.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { user: user.value, write: mode.value === "write" };
      call("POST", apiPath(card.session) + "/shares", body).then(
        function (answer) {
          card.message.textContent = answer.message;
          user.value = "";
        },
        function (error) {
          card.message.textContent = error.message;
        }
      );
    });
    return panel;
  }

  function linkPanel(card) {
    var panel = el("div", "panel link-panel");
    panel.hidden = true;
    var url = el("input", "guest-url");
    url.readOnly = true;
    url.setAttribute("aria-label", "guest link");
    panel.appendChild(el("span", "", "Read-only guest link (1 h): "));
    panel.appendChild(url);
    card.guestUrl = url;
    return panel;
  }

  function makeGuestLink(card) {
    openPanel(card, "link");
    card.guestUrl.value = "";
    call("POST", apiPath(card.session) + "/links", { guest: true }).then(
      function (answer) {
        card.guestUrl.value = answer.url;
        card.guestUrl.select();
      },
      function (error) {
        card.message.textContent = error.message;
      }
    );
  }

  function actions(card) {
    var bar = el("div", "actions");
    var open = el("a", "open", "open");
    var watch = el("a", "watch", "watch");
    bar.appendChild(open);
    bar.appendChild(watch);
    card.links = { open: open, watch: watch };
    card.owned = [button("kill", "kill"), button("share", "share"), button("guest link", "guest")];
    card.owned[0].addEventListener("click", function () {
      openPanel(card, "kill");
    });
    card.owned[1].addEventListener("click", function () {
      openPanel(card, "share");
    });
    card.owned[2].addEventListener("click", function () {
      makeGuestLink(card);
    });
    card.owned.forEach(function (b) {
      bar.appendChild(b);
    });
    return bar;
  }

  function makeCard(key) {
    var card = { key: key, root: el("article", "card") };
    card.root.dataset.key = key;
    var title = el("h2");
    card.title = el("a", "", key);
    title.appendChild(card.title);
    card.root.appendChild(title);
    card.meta = el("p", "meta");
    card.root.appendChild(card.meta);
    card.who = el("p", "who");
    card.root.appendChild(card.who);
    card.attention = el("p", "attention");
    card.root.appendChild(card.attention);
    card.preview = el("pre", "preview");
    card.root.appendChild(card.preview);
    card.root.appendChild(actions(card));
    card.panels = { kill: killPanel(card), share: sharePanel(card), link: linkPanel(card) };
    ["kill", "share", "link"].forEach(function (name) {
      card.root.appendChild(card.panels[name]);
    });
    card.message = el("p", "message");
    card.root.appendChild(card.message);
    card.fetching = {};
    card.dirty = {};
    return card;
  }

  function drawTimes(card) {
    var s = card.session;
    card.idle.textContent = "idle " + duration(secondsSince(s.last_active_at));
    if (s.attention) {
      card.waited.textContent = " · waiting " + duration(secondsSince(s.attention_since));
    }
  }

  function draw(card) {
    var s = card.session;
    card.title.href = pagePath(s);
    card.links.open.href = pagePath(s);
    card.links.watch.href = pagePath(s) + "?watch=1";
    card.root.classList.toggle("wants", !!s.attention);
    card.root.dataset.state = s.state;
    card.meta.textContent = "";
    card.meta.appendChild(el("span", "state", s.state));
    card.meta.appendChild(document.createTextNode(" · "));
    card.meta.appendChild(el("span", "access", s.access));
    card.meta.appendChild(document.createTextNode(" · "));
    card.idle = el("span", "idle");
    card.meta.appendChild(card.idle);
    card.attention.textContent = "";
    card.attention.hidden = !s.attention;
    if (s.attention) {
      card.attention.appendChild(el("b", "mark", "! "));
      card.attention.appendChild(el("span", "attention-message", s.attention_message || "wants attention"));
      card.waited = el("span", "waited");
      card.attention.appendChild(card.waited);
    }
    // Admins may kill and share any session (as over SSH and the API).
    var owner = s.access === "owner" || document.body.dataset.admin === "1";
    card.owned.forEach(function (b) {
      b.hidden = !owner;
    });
    drawTimes(card);
  }

  function drawWho(card, participants) {
    card.who.textContent = participants.length
      ? "attached: " +
        participants
          .map(function (p) {
            return p.name + " (" + p.access + ")";
          })
          .join(", ")
      : "nobody attached";
  }

  // Fetches `what` ("screen" or "details") for a card, one request at a
  // time; a request asked for meanwhile runs once the first is answered.
  function refetch(card, what) {
    if (card.fetching[what]) {
      card.dirty[what] = true;
      return;
    }
    card.fetching[what] = true;
    card.dirty[what] = false;
    var url = apiPath(card.session) + (what === "screen" ? "/screen" : "");
    call("GET", url)
      .then(
        function (answer) {
          if (what === "screen") {
            card.preview.textContent = answer.text;
          } else {
            drawWho(card, answer.participants || []);
          }
        },
        function () {}
      )
      .then(function () {
        card.fetching[what] = false;
        if (card.dirty[what] && shown[card.key]) {
          refetch(card, what);
        }
      });
  }

  function rank(card) {
    return [card.session.attention ? 0 : 1, card.session.attention ? card.session.attention_since : "", card.key];
  }

  function before(a, b) {
    var x = rank(a);
    var y = rank(b);
    for (var i = 0; i < x.length; i++) {
      if (x[i] !== y[i]) {
        return x[i] < y[i] ? -1 : 1;
      }
    }
    return 0;
  }

  // Attention first (longest waiting first), then by name; only nodes out
  // of place are moved, so a half-typed share form keeps its focus.
  function order() {
    var sorted = Object.keys(shown)
      .map(function (key) {
        return shown[key];
      })
      .sort(before);
    var node = cards.firstElementChild;
    sorted.forEach(function (card) {
      if (node === card.root) {
        node = node.nextElementSibling;
      } else {
        cards.insertBefore(card.root, node);
      }
    });
    empty.hidden = sorted.length > 0;
    applyFilter();
  }

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    Object.keys(shown).forEach(function (key) {
      var card = shown[key];
      var s = card.session;
      var text = [key, s.state, s.access, (s.command || []).join(" "), s.attention_message || ""]
        .join(" ")
        .toLowerCase();
      card.root.hidden = !words.every(function (w) {
        return text.indexOf(w) >= 0;
      });
    });
  }

  // The cards the server wrote into the page go once the stream speaks.
  function clearServerCards() {
    if (cleared) {
      return;
    }
    cleared = true;
    Array.prototype.slice.call(cards.querySelectorAll("article.card")).forEach(function (node) {
      node.remove();
    });
  }

  function onSession(s) {
    clearServerCards();
    var key = label(s);
    var card = shown[key];
    var fresh = !card;
    if (fresh) {
      card = makeCard(key);
      shown[key] = card;
    }
    var clientsChanged = fresh || card.session.clients !== s.clients;
    card.session = s;
    draw(card);
    if (fresh) {
      refetch(card, "screen");
    }
    if (clientsChanged) {
      refetch(card, "details");
    }
    order();
    if (window.FoyerNotify) {
      window.FoyerNotify.session(s);
    }
  }

  function onRemoved(s) {
    var key = label(s);
    var card = shown[key];
    if (card) {
      card.root.remove();
      delete shown[key];
    }
    order();
    if (window.FoyerNotify) {
      window.FoyerNotify.removed(s);
    }
  }

  function onScreen(s) {
    var card = shown[label(s)];
    if (card) {
      refetch(card, "screen");
    }
  }

  function connect() {
    var events = new EventSource("/api/events");
    events.addEventListener("session", function (e) {
      onSession(JSON.parse(e.data));
    });
    events.addEventListener("removed", function (e) {
      onRemoved(JSON.parse(e.data));
    });
    events.addEventListener("screen", function (e) {
      onScreen(JSON.parse(e.data));
    });
    events.addEventListener("ready", function () {
      clearServerCards();
      order();
      live.dataset.state = "live";
      live.textContent = "live";
      if (window.FoyerNotify) {
        window.FoyerNotify.ready();
      }
    });
    events.addEventListener("error", function () {
      live.dataset.state = events.readyState === EventSource.CLOSED ? "ended" : "reconnecting";
      live.textContent = live.dataset.state;
    });
  }

  function newSession(form) {
    var error = document.getElementById("new-error");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var body = { name: form.elements.name.value };
      if (form.elements.preset.value) {
        body.preset = form.elements.preset.value;
      } else if (form.elements.command.value.trim()) {
        body.command = form.elements.command.value;
      }
      error.textContent = "";
      call("POST", "/api/sessions", body).then(
        function () {
          form.reset();
        },
        function (failure) {
          error.textContent = failure.message;
        }
      );
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    filter.addEventListener("input", applyFilter);
    newSession(document.getElementById("new-session"));
    setInterval(function () {
      Object.keys(shown).forEach(function (key) {
        drawTimes(shown[key]);
      });
    }, 1000);
    connect();
  });
})();
