//! The support service binary (`shop-support --help` lists its flags).

fn main() -> std::process::ExitCode {
    runtime::main::<support::Support>()
}
