//! The shipping service binary (`shop-shipping --help` lists its flags).

fn main() -> std::process::ExitCode {
    runtime::main::<shipping::Shipping>()
}
