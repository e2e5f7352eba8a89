//! The runtime's example service as a process, so tests can kill it with SIGKILL and SIGTERM.

fn main() -> std::process::ExitCode {
    runtime::main::<runtime::example::Example>()
}
