// foyer's terminal page: one xterm.js terminal bridged to the session's
// WebSocket (/ws/OWNER/NAME). Binary frames carry terminal bytes both ways;
// text frames carry JSON (docs/web.md). The connection is remade with
// backoff (1 s doubling to 30 s) until the session ends or access is gone;
// every (re)connection starts from a reset terminal, and the server's
// snapshot restores the screen.
"use strict";

(function () {
  const body = document.body;
  const session = body.dataset.session;
  const watch = body.dataset.watch === "1";
  const status = document.getElementById("status");
  const people = document.getElementById("participants");
  const FIRST_DELAY_MS = 1000;
  const LAST_DELAY_MS = 30000;
  // Close codes after which reconnecting cannot help (docs/web.md).
  const FINAL = { 4000: "exited", 4001: "access revoked", 4009: "killed", 4029: "full" };

  const term = new Terminal({
    cursorBlink: true,
    scrollback: 5000,
    fontFamily: "monospace",
    disableStdin: watch,
    // The Unicode 11 addon's width table is a "proposed" API.
    allowProposedApi: true,
  });
  const fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  // Unicode 11 widths, as the server's screen counts them: wide
  // characters and emoji take two columns, so the cursor lines up.
  term.loadAddon(new Unicode11Addon.Unicode11Addon());
  term.unicode.activeVersion = "11";
  // Links open in a new tab that cannot reach back to this page.
  term.loadAddon(new WebLinksAddon.WebLinksAddon(function (event, uri) {
    if (/^https?:\/\//i.test(uri)) {
      window.open(uri, "_blank", "noopener,noreferrer");
    }
  }));
  term.open(document.getElementById("terminal"));
  fit.fit();
  // Tests and the curious read the terminal's state from here.
  window.foyerTerm = term;
  const coarse = window.matchMedia("(pointer: coarse)");
  if (!coarse.matches) {
    term.focus();
  }

  let socket = null;
  let delay = FIRST_DELAY_MS;
  let writable = false;
  let ended = false;
  const encoder = new TextEncoder();

  function show(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function sendResize() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "resize", cols: term.cols, rows: term.rows }));
    }
  }

  // The server refuses frames over 64 KiB: a big paste goes in pieces.
  const CHUNK_BYTES = 16 * 1024;

  function sendBytes(bytes) {
    if (!writable || !socket || socket.readyState !== WebSocket.OPEN) {
      return;
    }
    for (let start = 0; start < bytes.length; start += CHUNK_BYTES) {
      socket.send(bytes.subarray(start, start + CHUNK_BYTES));
    }
  }

  // Whether this browser may type: from "hello", and again from "access"
  // when the owner's `share` changes it while attached.
  let label = session;
  function setAccess(access) {
    writable = access === "write";
    term.options.disableStdin = !writable;
    body.dataset.access = access;
    show("connected", label + (writable ? "" : " (read-only)"));
  }

  function onText(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch (_) {
      return;
    }
    if (message.type === "hello") {
      delay = FIRST_DELAY_MS;
      label = message.session;
      setAccess(message.access);
    } else if (message.type === "access") {
      setAccess(message.access);
    } else if (message.type === "participants") {
      const names = (message.participants || []).map(
        (p) => p.name + (p.access === "read" ? " (r)" : ""));
      people.textContent = names.join(", ");
    } else if (message.type === "exit") {
      ended = true;
      const code = message.status === null ? "unknown" : message.status;
      show("ended", session + " exited with status " + code);
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = scheme + "//" + location.host + "/ws/" + session + (watch ? "?watch=1" : "");
    show("connecting", "connecting to " + session + "…");
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    socket = ws;
    ws.onopen = function () {
      term.reset();
      sendResize();
    };
    ws.onmessage = function (event) {
      if (typeof event.data === "string") {
        onText(event.data);
      } else {
        term.write(new Uint8Array(event.data));
      }
    };
    ws.onclose = function (event) {
      if (socket !== ws) {
        return;
      }
      socket = null;
      writable = false;
      if (ended) {
        return;
      }
      if (FINAL[event.code]) {
        ended = true;
        show("ended", session + ": " + (event.reason || FINAL[event.code]));
        return;
      }
      const seconds = Math.round(delay / 1000);
      show("reconnecting", "disconnected; reconnecting in " + seconds + " s");
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, LAST_DELAY_MS);
    };
  }

  term.onData(function (data) {
    sendBytes(encoder.encode(data));
  });
  term.onBinary(function (data) {
    const bytes = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      bytes[i] = data.charCodeAt(i) & 0xff;
    }
    sendBytes(bytes);
  });
  term.onResize(sendResize);
  window.addEventListener("resize", function () {
    fit.fit();
  });

  // The key bar: shown on touch screens by the style sheet, elsewhere by
  // its button. The arrows follow the program's cursor key mode.
  const KEYS = { esc: "\x1b", tab: "\t", backtab: "\x1b[Z", "ctrl-c": "\x03", enter: "\r" };
  const ARROWS = { up: "A", down: "B", right: "C", left: "D" };
  function keyBytes(key) {
    if (ARROWS[key]) {
      const application = term.modes.applicationCursorKeysMode;
      return (application ? "\x1bO" : "\x1b[") + ARROWS[key];
    }
    return KEYS[key] || "";
  }
  const keybar = document.getElementById("keybar");
  const toggle = document.getElementById("keys-toggle");
  keybar.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-key]");
    if (button) {
      sendBytes(encoder.encode(keyBytes(button.dataset.key)));
      // On a phone, focusing would pop up its keyboard over the terminal.
      if (!coarse.matches) {
        term.focus();
      }
    }
  });
  // Pressing a key must not take the focus (and the keyboard) away.
  keybar.addEventListener("mousedown", function (event) {
    event.preventDefault();
  });
  function showKeys(shown) {
    body.classList.toggle("keys-shown", shown);
    toggle.setAttribute("aria-pressed", shown ? "true" : "false");
    fit.fit();
  }
  toggle.addEventListener("click", function () {
    showKeys(!body.classList.contains("keys-shown"));
  });
  showKeys(coarse.matches);

  // The page's other parts (web/uploads.js, web/files.js) register in
  // window.foyerParts before this runs and get the terminal from here.
  (window.foyerParts || []).forEach(function (part) {
    part({
      term: term,
      session: session,
      // Back to the terminal (not on a phone: its keyboard would pop up).
      focus: function () {
        if (!coarse.matches) {
          term.focus();
        }
      },
    });
  });
  connect();
})();
