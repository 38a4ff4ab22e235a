//! Terminal styles. `anstream` writes them only to a terminal, and never when `NO_COLOR` is
//! set (`CLICOLOR_FORCE` forces them), so piped output and `--json` stay plain.

use anstyle::{AnsiColor, Style};

/// `println!` through `anstream`, without a panic when the reader has gone (`| head`): output
/// that cannot be written is dropped, and the exit status still says what was found.
macro_rules! say {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(anstream::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(anstream::stdout(), $($arg)*);
    }};
}

/// `eprintln!` through `anstream`, without a panic.
macro_rules! say_err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(anstream::stderr(), $($arg)*);
    }};
}

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const NOTE: Style = AnsiColor::Cyan.on_default().bold();
pub const OK: Style = AnsiColor::Green.on_default().bold();
pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();

/// `error: message` on standard error.
pub fn error(message: &str) {
    say_err!("{ERROR}error{ERROR:#}: {message}");
}

/// Text in a style, reset after.
pub fn styled(style: Style, text: &str) -> String {
    format!("{style}{text}{style:#}")
}

/// Prints JSON for tools, pretty, on standard output.
pub fn json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => say!("{text}"),
        Err(e) => error(&format!("cannot write JSON: {e}")),
    }
}
