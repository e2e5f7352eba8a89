//! The inventory service binary (`shop-inventory --help` lists its flags).

fn main() -> std::process::ExitCode {
    runtime::main::<inventory::Inventory>()
}
