//! `reglink` under the name the tests find it by (`CARGO_BIN_EXE_reglink-cli`).

fn main() -> std::process::ExitCode {
    reglink::main()
}
