//! The HTML of foyer's pages, written out with every piece of outside
//! text escaped. The pages hold no script of their own: the terminal
//! page loads /assets/foyer.js (and notify.js, desktop notifications;
//! uploads.js and files.js, files in and out),
//! which reads what it needs from `data-` attributes; the dashboard's
//! HTML is in `dashboard`.
//!
//! Must not look anything up: callers pass what a page shows.

use super::assets;

/// Escapes text for HTML content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn page(title: &str, body_attributes: &str, head: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"/assets/foyer.css\">\n{head}</head>\n\
         <body{body_attributes}>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

/// A page with one message (sign-in needed, link expired, not found).
pub fn message(title: &str, text: &str) -> String {
    page(
        title,
        "",
        "",
        &format!(
            "<main>\n<h1>{}</h1>\n<p>{}</p>\n<p><a href=\"/\">Your sessions</a></p>\n</main>",
            escape(title),
            escape(text)
        ),
    )
}

/// The sign-out button: a form, so that it is a POST (no script needed).
pub const SIGN_OUT: &str = "<form class=\"sign-out\" method=\"post\" action=\"/logout\">\
                        <button type=\"submit\">Sign out</button></form>";

/// The button that shows or hides the key bar (foyer.js wires it up).
const KEYS_TOGGLE: &str = "<button id=\"keys-toggle\" type=\"button\" aria-controls=\"keybar\" \
                           aria-pressed=\"false\">Keys</button>";

/// The button that opens the Files panel (web/files.js); left out of a
/// watch page, and shown by the style sheet only to a writer.
const FILES_TOGGLE: &str = "<button id=\"files-toggle\" type=\"button\">Files</button>";

/// The key bar: keys a phone's keyboard lacks. foyer.js sends each
/// button's `data-key` (the arrows as the program's cursor mode wants).
const KEY_BAR: &str = "<div id=\"keybar\" role=\"toolbar\" aria-label=\"Keys\">\
    <button type=\"button\" data-key=\"esc\">Esc</button>\
    <button type=\"button\" data-key=\"tab\">Tab</button>\
    <button type=\"button\" data-key=\"backtab\" aria-label=\"Shift-Tab\">\u{21e4}Tab</button>\
    <button type=\"button\" data-key=\"ctrl-c\" aria-label=\"Control-C\">^C</button>\
    <button type=\"button\" data-key=\"left\" aria-label=\"Left\">\u{2190}</button>\
    <button type=\"button\" data-key=\"up\" aria-label=\"Up\">\u{2191}</button>\
    <button type=\"button\" data-key=\"down\" aria-label=\"Down\">\u{2193}</button>\
    <button type=\"button\" data-key=\"right\" aria-label=\"Right\">\u{2192}</button>\
    <button type=\"button\" data-key=\"enter\" aria-label=\"Enter\">\u{23ce}</button>\
    </div>";

/// `/s/OWNER/NAME`: the terminal, or what is missing from this build.
pub fn terminal(label: &str, watch: bool) -> String {
    let title = format!("{label} - foyer");
    let label = escape(label);
    if !assets::MISSING.is_empty() {
        return message(
            "The terminal is missing from this build",
            &format!(
                "This foyer binary was built without xterm.js: {}",
                assets::MISSING.trim()
            ),
        );
    }
    let head = "<link rel=\"stylesheet\" href=\"/assets/xterm.css\">\n\
                <script src=\"/assets/xterm.js\" defer></script>\n\
                <script src=\"/assets/addon-fit.js\" defer></script>\n\
                <script src=\"/assets/addon-unicode11.js\" defer></script>\n\
                <script src=\"/assets/addon-web-links.js\" defer></script>\n\
                <script src=\"/assets/uploads.js\" defer></script>\n\
                <script src=\"/assets/files.js\" defer></script>\n\
                <script src=\"/assets/foyer.js\" defer></script>\n\
                <script src=\"/assets/notify.js\" defer></script>\n";
    let attributes = format!(
        " class=\"terminal-page\" data-session=\"{label}\" data-watch=\"{}\"",
        if watch { "1" } else { "0" }
    );
    let files = if watch { "" } else { FILES_TOGGLE };
    let body = format!(
        "<header><a href=\"/\">foyer</a><span id=\"status\" data-state=\"loading\">{label}</span>\
         <span id=\"participants\"></span>{files}{KEYS_TOGGLE}{SIGN_OUT}</header>\n\
         <div id=\"terminal\"></div>\n{KEY_BAR}"
    );
    page(&title, &attributes, head, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_is_escaped() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let page = message("t<", "x\"y");
        assert!(page.contains("t&lt;") && page.contains("x&quot;y"));
        assert!(!page.contains("<script"));
    }
}
