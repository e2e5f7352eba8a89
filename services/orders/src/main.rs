//! The orders service binary (`shop-orders --help` lists its flags).

fn main() -> std::process::ExitCode {
    runtime::main::<orders::Orders>()
}
