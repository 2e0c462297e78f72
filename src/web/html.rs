//! The HTML of foyer's pages, written out with every piece of outside
//! text escaped. The pages hold no script of their own: the terminal
//! page loads /assets/foyer.js (and notify.js, desktop notifications),
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
                <script src=\"/assets/foyer.js\" defer></script>\n\
                <script src=\"/assets/notify.js\" defer></script>\n";
    let attributes = format!(
        " class=\"terminal-page\" data-session=\"{label}\" data-watch=\"{}\"",
        if watch { "1" } else { "0" }
    );
    let body = format!(
        "<header><a href=\"/\">foyer</a><span id=\"status\" data-state=\"loading\">{label}</span>\
         <span id=\"participants\"></span>{SIGN_OUT}</header>\n<div id=\"terminal\"></div>"
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
