fn main() {
    std::process::exit(mtls_harness::exit_codes::SUCCESS);
}
