//! The payments service binary (`shop-payments --help` lists its flags).

fn main() -> std::process::ExitCode {
    runtime::main::<payments::Payments>()
}
