// Files out (SPEC §7), on the terminal page: the header's Files button
// opens a side panel (the whole width on a narrow screen) showing the
// session's working directory from GET /api/sessions/OWNER/NAME/files:
// its entries (name, kind, size, modification time), directories to open
// and leave again (never above the working directory: paths are shown
// relative to it), text files in a <pre> and images in an <img>, and the
// server's error messages (403, 413) as they come. Closing the panel
// (its button, Escape, or Files again) gives the terminal the focus back.
//
// Writers only: the server leaves the button out of a watch page, and
// the style sheet shows it only while body[data-access] is "write".
// Everything shown comes from the server as text (textContent, never
// innerHTML); images are shown from the fetched bytes as a data: URL,
// which the page's Content-Security-Policy allows (img-src 'self' data:)
// where it does not allow blob: URLs.
"use strict";

(window.foyerParts = window.foyerParts || []).push(function (page) {
  const body = document.body;
  const toggle = document.getElementById("files-toggle");
  if (body.dataset.watch === "1" || !toggle) {
    return;
  }
  const api =
    "/api/sessions/" + page.session.split("/").map(encodeURIComponent).join("/") + "/files";

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  const panel = el("aside");
  panel.id = "files";
  panel.hidden = true;
  panel.setAttribute("aria-label", "Files");
  const bar = el("div", "files-bar");
  const crumbs = el("nav", "files-path");
  crumbs.setAttribute("aria-label", "Path");
  const close = el("button", "files-close", "\u00d7");
  close.type = "button";
  close.setAttribute("aria-label", "Close files");
  bar.append(crumbs, close);
  const content = el("div", "files-content");
  panel.append(bar, content);
  body.appendChild(panel);

  // The working directory's absolute path, from the last listing.
  let root = "";
  // The path on show, relative to the root ("" is the root itself).
  let current = "";
  // The directory last listed, opened again when the panel reopens.
  let folder = "";
  // Only the answer to the latest request is shown.
  let serial = 0;
  // Object URLs made for the file on show (its download link).
  let urls = [];

  function join(dir, name) {
    return dir === "" ? name : dir + "/" + name;
  }

  function parent(path) {
    const parts = path.split("/");
    parts.pop();
    return parts.join("/");
  }

  function size(bytes) {
    if (typeof bytes !== "number") {
      return "";
    }
    if (bytes < 1024) {
      return bytes + " B";
    }
    const units = ["KiB", "MiB", "GiB", "TiB"];
    let value = bytes;
    let unit = -1;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return (value < 10 ? value.toFixed(1) : Math.round(value)) + " " + units[unit];
  }

  function two(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function when(seconds) {
    if (typeof seconds !== "number") {
      return "";
    }
    const d = new Date(seconds * 1000);
    return (
      d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) +
      " " + two(d.getHours()) + ":" + two(d.getMinutes())
    );
  }

  // The path as links, from the working directory down.
  function showPath(path) {
    crumbs.replaceChildren();
    const top = root.split("/").filter((p) => p !== "").pop() || root || ".";
    const segments = path === "" ? [] : path.split("/");
    const names = [top].concat(segments);
    names.forEach(function (name, i) {
      const target = segments.slice(0, i).join("/");
      if (i > 0) {
        crumbs.append(el("span", "files-sep", "/"));
      }
      if (i === names.length - 1) {
        const here = el("span", "files-here", name);
        here.setAttribute("aria-current", "location");
        crumbs.append(here);
      } else {
        const link = el("button", "files-crumb", name);
        link.type = "button";
        link.dataset.path = target;
        crumbs.append(link);
      }
    });
    crumbs.firstChild.title = root;
    panel.dataset.path = path;
  }

  // What was clicked is gone once the panel shows something new: keep the
  // keyboard in the panel (on what is first to use there).
  function keepFocus() {
    const active = document.activeElement;
    if (panel.hidden || (active && active !== document.body && !panel.contains(active))) {
      return;
    }
    const first = content.querySelector("button, a[href]") || close;
    first.focus();
  }

  function forgetUrls() {
    urls.forEach((url) => URL.revokeObjectURL(url));
    urls = [];
  }

  function showError(status, message) {
    const box = el("div", "files-error");
    box.setAttribute("role", "alert");
    box.append(el("strong", "", message), el("span", "files-status", " (HTTP " + status + ")"));
    const back = el("button", "files-back", "Back to the folder");
    back.type = "button";
    back.dataset.path = parent(current);
    content.replaceChildren(box, back);
    panel.dataset.view = "error";
    keepFocus();
  }

  function entryRow(name, kind, path, entry) {
    const row = el("tr");
    row.dataset.kind = kind;
    const cell = el("td", "files-name");
    const open = el("button", "", name + (kind === "dir" ? "/" : ""));
    open.type = "button";
    open.dataset.path = path;
    cell.append(open);
    row.append(cell, el("td", "files-kind", entry ? kind : ""));
    row.append(el("td", "files-size", entry && kind !== "dir" ? size(entry.size) : ""));
    const modified = el("td", "files-modified", entry ? when(entry.modified) : "");
    if (entry && typeof entry.modified === "number") {
      modified.title = new Date(entry.modified * 1000).toLocaleString();
    }
    row.append(modified);
    return row;
  }

  function showListing(listing) {
    root = listing.root || root;
    current = listing.path || "";
    folder = current;
    showPath(current);
    const table = el("table", "files-list");
    const head = el("tr");
    ["Name", "Kind", "Size", "Modified"].forEach((h) => head.append(el("th", "", h)));
    const thead = el("thead");
    thead.append(head);
    table.append(thead);
    const rows = el("tbody");
    if (current !== "") {
      rows.append(entryRow("..", "up", parent(current), null));
    }
    (listing.entries || []).forEach(function (entry) {
      rows.append(entryRow(entry.name, entry.kind, join(current, entry.name), entry));
    });
    table.append(rows);
    const parts = [table];
    if ((listing.entries || []).length === 0) {
      parts.push(el("p", "files-empty", "This folder is empty."));
    }
    if (listing.truncated) {
      const shown = (listing.entries || []).length;
      parts.push(el("p", "files-empty", "The list is cut short: " + shown + " entries shown."));
    }
    content.replaceChildren(...parts);
    panel.dataset.view = "dir";
    keepFocus();
  }

  function showFile(path, blob) {
    current = path;
    showPath(path);
    const name = path.split("/").pop();
    const type = (blob.type || "").split(";")[0].trim();
    const info = el("div", "files-info");
    info.append(el("span", "", size(blob.size)));
    const url = URL.createObjectURL(blob);
    urls.push(url);
    const download = el("a", "files-download", "Download");
    download.href = url;
    download.download = name;
    info.append(download);
    const parts = [info];
    if (type.startsWith("text/")) {
      const pre = el("pre", "files-text");
      parts.push(pre);
      blob.text().then(function (text) {
        pre.textContent = text;
      });
    } else if (type.startsWith("image/")) {
      const img = el("img", "files-image");
      img.alt = name;
      img.addEventListener("load", function () {
        info.insertBefore(
          el("span", "files-dimensions", img.naturalWidth + " \u00d7 " + img.naturalHeight),
          download
        );
      });
      parts.push(img);
      const reader = new FileReader();
      reader.onload = function () {
        img.src = reader.result;
      };
      reader.readAsDataURL(blob);
    } else {
      parts.push(el("p", "files-binary", "Not text or an image: not shown here."));
    }
    content.replaceChildren(...parts);
    panel.dataset.view = "file";
    keepFocus();
  }

  // Opens a path: the server says whether it is a directory (a JSON
  // listing) or a file (its bytes).
  function open(path) {
    const mine = ++serial;
    forgetUrls();
    panel.dataset.view = "loading";
    content.replaceChildren(el("p", "files-loading", "Loading\u2026"));
    const url = api + "?path=" + encodeURIComponent(path);
    fetch(url, { credentials: "same-origin" })
      .then(async function (response) {
        const type = response.headers.get("Content-Type") || "";
        if (!response.ok) {
          let message = response.statusText || "refused";
          try {
            message = (await response.json()).error || message;
          } catch (_) {
            // Not JSON: keep the status text.
          }
          if (mine === serial) {
            current = path;
            showPath(path);
            showError(response.status, message);
          }
        } else if (type.startsWith("application/json")) {
          const listing = await response.json();
          if (mine === serial) {
            showListing(listing);
          }
        } else {
          const blob = await response.blob();
          if (mine === serial) {
            showFile(path, blob);
          }
        }
      })
      .catch(function (error) {
        if (mine === serial) {
          content.replaceChildren(el("p", "files-error", "Could not load: " + error.message));
          panel.dataset.view = "error";
        }
      });
  }

  function place() {
    // Below the header, over the terminal (which keeps its size).
    const header = document.querySelector("header");
    panel.style.top = (header ? header.getBoundingClientRect().bottom : 0) + "px";
  }

  function show() {
    place();
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    open(folder);
    close.focus();
  }

  function hide() {
    if (panel.hidden) {
      return;
    }
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    serial++;
    forgetUrls();
    page.focus();
  }

  toggle.setAttribute("aria-controls", "files");
  toggle.setAttribute("aria-expanded", "false");
  toggle.addEventListener("click", function () {
    if (panel.hidden) {
      show();
    } else {
      hide();
    }
  });
  close.addEventListener("click", hide);
  // Escape closes it, unless the terminal has the keyboard (a program
  // there may want the key).
  document.addEventListener("keydown", function (event) {
    const inside = panel.contains(event.target) || event.target === document.body;
    if (event.key === "Escape" && !panel.hidden && inside) {
      event.preventDefault();
      hide();
    }
  });
  panel.addEventListener("click", function (event) {
    const target = event.target.closest("button[data-path]");
    if (target) {
      open(target.dataset.path);
    }
  });
  window.addEventListener("resize", function () {
    if (!panel.hidden) {
      place();
    }
  });
  // Losing write access (the owner's `unshare` or a share made read)
  // closes the panel; the button hides by the style sheet.
  new MutationObserver(function () {
    if (body.dataset.access !== "write") {
      hide();
    }
  }).observe(body, { attributes: true, attributeFilter: ["data-access"] });
});
