// Files in (SPEC §7), on the terminal page: files pasted (a screenshot,
// files copied in a file manager) or dropped on the page are uploaded,
// one after the other, by POST /api/sessions/OWNER/NAME/uploads?name=FILE;
// then the absolute paths the server answers are typed into the session
// with xterm.js's paste (space-separated, in order), which wraps them in
// a bracketed paste when the program asked for one. A small status box
// says what is uploading, what is done and the server's error messages.
//
// Writers only: a watch page attaches nothing, and on any other page
// each event checks the access foyer.js keeps in body[data-access].
// Pastes that carry no files are left alone, so xterm.js pastes text as
// it always does.
"use strict";

(window.foyerParts = window.foyerParts || []).push(function (page) {
  const body = document.body;
  if (body.dataset.watch === "1") {
    return;
  }
  const api = "/api/sessions/" + page.session.split("/").map(encodeURIComponent).join("/");
  // How long a finished upload's line stays (errors stay until closed).
  const DONE_SHOWN_MS = 4000;

  function writable() {
    return body.dataset.access === "write";
  }

  // The files a paste or a drop carries (none for plain text).
  function filesOf(transfer) {
    if (!transfer) {
      return [];
    }
    const files = Array.from(transfer.files || []);
    if (files.length > 0) {
      return files;
    }
    return Array.from(transfer.items || [])
      .filter((item) => item.kind === "file")
      .map((item) => item.getAsFile())
      .filter((file) => file !== null);
  }

  function carriesFiles(transfer) {
    return !!transfer && Array.from(transfer.types || []).includes("Files");
  }

  // A path as a shell word: as it is when it is plain, else single-quoted.
  // The server replaces unsafe characters in the name; this is for the
  // rest of the path (a home directory with a space).
  function shellWord(path) {
    if (/^[A-Za-z0-9_\/.,+=:@%~-]+$/.test(path)) {
      return path;
    }
    return "'" + path.replace(/'/g, "'\\''") + "'";
  }

  let box = null;
  function statusBox() {
    if (!box) {
      box = document.createElement("div");
      box.id = "uploads";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      body.appendChild(box);
    }
    return box;
  }

  // One line in the status box; returns a function that changes it.
  function line(text) {
    const row = document.createElement("div");
    row.className = "upload";
    row.dataset.state = "uploading";
    const label = document.createElement("span");
    label.textContent = text;
    row.appendChild(label);
    statusBox().appendChild(row);
    return function (state, text) {
      row.dataset.state = state;
      label.textContent = text;
      if (state === "done") {
        setTimeout(function () {
          row.remove();
        }, DONE_SHOWN_MS);
      } else if (state === "error") {
        const close = document.createElement("button");
        close.type = "button";
        close.className = "upload-close";
        close.setAttribute("aria-label", "Dismiss");
        close.textContent = "\u00d7";
        close.addEventListener("click", function () {
          row.remove();
          page.focus();
        });
        row.appendChild(close);
      }
    };
  }

  // Uploads one file; resolves to the path the server saved it at.
  function upload(file) {
    const name = file.name || "pasted";
    const init = {
      method: "POST",
      body: file,
      headers: { "Content-Type": "application/octet-stream" },
      credentials: "same-origin",
      // The page's no-referrer policy would send `Origin: null`; the
      // API's same-origin check needs the real one.
      referrerPolicy: "same-origin",
    };
    return fetch(api + "/uploads?name=" + encodeURIComponent(name), init).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (answer) {
            if (!response.ok) {
              throw new Error(answer.error || "HTTP " + response.status);
            }
            if (typeof answer.path !== "string") {
              throw new Error("the server answered no path");
            }
            return answer.path;
          });
      },
      function () {
        throw new Error("the upload did not reach the server");
      }
    );
  }

  // Uploads the files in order, then types the paths of those saved.
  async function uploadAll(files) {
    const paths = [];
    for (const file of files) {
      const name = file.name || "pasted";
      const set = line("uploading " + name + "\u2026");
      try {
        const path = await upload(file);
        set("done", "uploaded " + name);
        paths.push(path);
      } catch (error) {
        set("error", name + ": " + error.message);
      }
    }
    if (paths.length > 0) {
      page.term.paste(paths.map(shellWord).join(" "));
    }
  }

  // Capture phase: seen before xterm.js's own paste handler on its
  // textarea, which would paste the (empty) text.
  document.addEventListener(
    "paste",
    function (event) {
      const files = filesOf(event.clipboardData);
      if (files.length === 0 || !writable()) {
        return;
      }
      event.preventDefault();
      event.stopPropagation();
      uploadAll(files);
    },
    true
  );

  // A file dropped anywhere on the page: without this the browser would
  // open it in place of the terminal.
  let leaving = null;
  window.addEventListener("dragover", function (event) {
    if (!carriesFiles(event.dataTransfer) || !writable()) {
      return;
    }
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
    body.classList.add("dropping");
    // dragover repeats while the pointer is over the page; when it stops
    // (the drag left the window or ended) the mark goes.
    clearTimeout(leaving);
    leaving = setTimeout(function () {
      body.classList.remove("dropping");
    }, 300);
  });
  window.addEventListener("drop", function (event) {
    body.classList.remove("dropping");
    const files = filesOf(event.dataTransfer);
    if (files.length === 0 || !writable()) {
      return;
    }
    event.preventDefault();
    uploadAll(files);
    page.focus();
  });
});
