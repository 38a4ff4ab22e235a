//! Terminal styles. `anstream` writes them only to a terminal, and never when `NO_COLOR` is
//! set (`CLICOLOR_FORCE` forces them), so piped output and `--json` stay plain.

use anstyle::{AnsiColor, Style};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const NOTE: Style = AnsiColor::Cyan.on_default().bold();
pub const OK: Style = AnsiColor::Green.on_default().bold();
pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();

/// `error: message` on standard error.
pub fn error(message: &str) {
    anstream::eprintln!("{ERROR}error{ERROR:#}: {message}");
}

/// Text in a style, reset after.
pub fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Prints JSON for tools, pretty, on standard output.
pub fn json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => error(&format!("cannot write JSON: {e}")),
    }
}
