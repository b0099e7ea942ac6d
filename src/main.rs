use std::process::ExitCode;

fn main() -> ExitCode {
    ringcoach::cli::main()
}
