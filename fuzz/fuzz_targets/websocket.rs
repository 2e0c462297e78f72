//! Fuzz target: a browser's WebSocket text messages, read as the bridge
//! reads them (`web::protocol::ClientText::parse`, then `size` for a
//! resize and `wire::control::parse_signal` for a signal). Properties: a
//! size accepted is 1..=1000 each way; a signal accepted is never STOP or
//! CONT (pause and resume do that); an error message is never empty.
#![no_main]

use foyer::web::protocol::ClientText;
use foyer::wire::Size;
use foyer::wire::control::{parse_signal, short_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A text frame is UTF-8 (the WebSocket layer refuses anything else).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match ClientText::parse(text) {
        Ok(Some(ClientText::Resize { cols, rows })) => match ClientText::size(cols, rows) {
            Some(size) => {
                assert!(cols > 0 && rows > 0);
                assert!((1..=Size::MAX).contains(&size.rows), "{size:?}");
                assert!((1..=Size::MAX).contains(&size.cols), "{size:?}");
            }
            None => assert!(cols == 0 || rows == 0),
        },
        Ok(Some(ClientText::Signal { signal })) => check_signal(&signal),
        Ok(None) => {}
        Err(error) => assert!(!error.to_string().is_empty()),
    }
    check_signal(text);
});

fn check_signal(name: &str) {
    match parse_signal(name) {
        Ok(signal) => assert!(!matches!(short_name(signal), "STOP" | "CONT")),
        Err(error) => assert!(!error.is_empty()),
    }
}
