//! The catalog service binary (`shop-catalog --help` lists its flags).

fn main() -> std::process::ExitCode {
    runtime::main::<catalog::Catalog>()
}
