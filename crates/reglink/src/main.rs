//! The `reglink` command-line tool. See `reglink --help`; the work is in the library.

fn main() -> std::process::ExitCode {
    reglink::main()
}
