//! The lines `up`, `demo` and the supervisor print: one per source, coloured on a terminal.

use std::io::IsTerminal;

/// Output lines, coloured by source when their stream is a terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Console {
    color: bool,
    /// Lines go to stderr (stdout is the command's JSON result).
    stderr: bool,
}

impl Console {
    pub(crate) fn new() -> Self {
        Console {
            color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            stderr: false,
        }
    }

    /// A console on stderr, for a command whose stdout is its `--json` result.
    pub(crate) fn on_stderr() -> Self {
        Console {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            stderr: true,
        }
    }

    fn paint(&self, code: u8, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// A line from a service (or from shopctl itself, as `shopctl`).
    pub(crate) fn line(&self, source: &str, text: &str) {
        let code = match source {
            "catalog" => 36,
            "inventory" => 32,
            "orders" => 33,
            "payments" => 35,
            "shipping" => 34,
            "support" => 96,
            "nats" => 90,
            _ => 1,
        };
        let line = format!("{} | {text}", self.paint(code, &format!("{source:>9}")));
        if self.stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }

    /// Something the operator must notice.
    pub(crate) fn alert(&self, text: &str) {
        let line = self.paint(31, &format!("  shopctl | !! {text}"));
        if self.stderr {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
}
