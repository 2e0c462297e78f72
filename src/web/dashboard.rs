//! The HTML of the dashboard at `/` (SPEC §7): the frame the page's
//! script (/assets/dashboard.js) fills from `/api/events`, with one card
//! per session already written out so the page shows something (and
//! links) before the script runs.
//!
//! Must not look anything up (callers pass what the page shows) or carry
//! script or style of its own: the CSP allows only /assets/.

use super::html::{SIGN_OUT, escape, page};

/// One session as the page first shows it.
pub struct Card {
    pub owner: String,
    pub name: String,
    pub state: String,
    pub access: String,
    pub clients: usize,
}

/// `/`: the dashboard of `user`, with `presets` offered for a new session;
/// an admin gets the owner's buttons (kill, share, guest link) on every
/// card, as the API lets them.
pub fn index(user: &str, admin: bool, presets: &[String], cards: &[Card]) -> String {
    let head = "<link rel=\"stylesheet\" href=\"/assets/dashboard.css\">\n\
                <script src=\"/assets/notify.js\" defer></script>\n\
                <script src=\"/assets/dashboard.js\" defer></script>\n";
    let mut options = String::from("<option value=\"\">a command</option>");
    for preset in presets {
        let preset = escape(preset);
        options.push_str(&format!(
            "<option value=\"{preset}\">preset {preset}</option>"
        ));
    }
    let mut body = format!(
        "<header class=\"dash\"><b>foyer</b><span>Signed in as <b id=\"user\">{}</b></span>\
         <input id=\"filter\" type=\"search\" placeholder=\"Filter sessions\" aria-label=\"Filter sessions\">\
         <button id=\"notify-permission\" type=\"button\" hidden>Enable notifications</button>\
         <span id=\"live\" data-state=\"loading\"></span>{SIGN_OUT}</header>\n\
         <main id=\"dashboard\">\n\
         <form id=\"new-session\" autocomplete=\"off\"><b>New session</b>\
         <input name=\"name\" placeholder=\"name\" aria-label=\"name\" required>\
         <select name=\"preset\" aria-label=\"preset\">{options}</select>\
         <input name=\"command\" placeholder=\"command (default: your shell)\" aria-label=\"command\">\
         <button type=\"submit\">Create</button><span class=\"error\" id=\"new-error\"></span></form>\n\
         <p id=\"empty\"{}>No sessions yet: start one here or with <code>ssh HOST new NAME</code>.</p>\n\
         <div id=\"cards\">\n",
        escape(user),
        if cards.is_empty() { "" } else { " hidden" },
    );
    for card in cards {
        let label = escape(&format!("{}/{}", card.owner, card.name));
        body.push_str(&format!(
            "<article class=\"card\" data-key=\"{label}\"><h2><a href=\"/s/{label}\">{label}</a></h2>\
             <p class=\"meta\">{} · {} · {} attached · <a href=\"/s/{label}?watch=1\">watch</a></p></article>\n",
            escape(&card.state),
            escape(&card.access),
            card.clients,
        ));
    }
    body.push_str("</div>\n</main>");
    let attributes = if admin {
        " class=\"dashboard-page\" data-admin=\"1\""
    } else {
        " class=\"dashboard-page\""
    };
    page("foyer", attributes, head, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_presets_are_escaped_and_no_script_is_inline() {
        let card = Card {
            owner: "alice".into(),
            name: "<b>".into(),
            state: "running".into(),
            access: "owner".into(),
            clients: 0,
        };
        let page = index("al\"ice", false, &["x<y".into()], &[card]);
        assert!(!page.contains("data-admin"));
        assert!(index("root", true, &[], &[]).contains("data-admin=\"1\""));
        assert!(page.contains("alice/&lt;b&gt;") && !page.contains("<b>\""));
        assert!(page.contains("preset x&lt;y") && page.contains("al&quot;ice"));
        assert!(!page.contains("<script>") && !page.contains("style="));
        assert!(page.contains("<script src=\"/assets/dashboard.js\" defer></script>"));
    }
}
