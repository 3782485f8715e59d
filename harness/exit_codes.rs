//! Process exit codes, documented in the README and in docs/cli.md.

/// Every selected scenario passed (or the command succeeded).
pub const SUCCESS: i32 = 0;
/// At least one scenario failed or hung.
pub const SCENARIO_FAILED: i32 = 1;
/// Bad input (file, flag, PEM, URL) or a setup error.
pub const BAD_INPUT: i32 = 2;
/// The selection matched no scenario.
pub const NO_SCENARIO_SELECTED: i32 = 3;
/// SIGHUP stopped the command (128 + 1).
pub const HUNG_UP: i32 = 129;
/// SIGINT (Ctrl-C) stopped the command (128 + 2).
pub const INTERRUPTED: i32 = 130;
/// SIGTERM stopped the command (128 + 15).
pub const TERMINATED: i32 = 143;

/// Every exit code with what it means, for the generated documentation.
pub const ALL: [(i32, &str); 7] = [
    (
        SUCCESS,
        "every selected case passed (or the command succeeded)",
    ),
    (
        SCENARIO_FAILED,
        "a scenario failed or hung (`bench`: a point completed no handshake; `fidelity`: a built-in profile and its real gateway differ)",
    ),
    (
        BAD_INPUT,
        "bad input (scenario or spec file, flag, PEM, URL) or a setup error; the message names the file, line and field",
    ),
    (NO_SCENARIO_SELECTED, "no scenario selected"),
    (
        HUNG_UP,
        "SIGHUP: as 130",
    ),
    (
        INTERRUPTED,
        "SIGINT (Ctrl-C): `run`, `fidelity`, `bench` and `serve` started no more work, stopped every real gateway they had started (whole process groups) and removed its temporary directory, and wrote the partial report marked interrupted; a second Ctrl-C kills the children at once and exits without a report",
    ),
    (TERMINATED, "SIGTERM: as 130"),
];

/// `probe`: the given certificate would be sent and accepted (without one:
/// the server does not require one).
pub const PROBE_ACCEPTED: i32 = 0;
/// `probe`: the certificate would not be sent or would be rejected, or none
/// was given and the server requires one.
pub const PROBE_NOT_ACCEPTED: i32 = 1;
/// `probe`: bad input, or a target that is unreachable or broken (silent,
/// too slow, not TLS 1.2/1.3, garbage, reset).
pub const PROBE_BROKEN: i32 = 2;

/// `probe`'s exit codes with what each means, for the generated documentation.
pub const PROBE: [(i32, &str); 3] = [
    (
        PROBE_ACCEPTED,
        "on every TLS version the target speaks, the given certificate is sent by clients that filter by the CA names (an empty list counts as any) and the server accepts it (no alert, no 400/401/403/495/496); without `--cert`: the server does not require a certificate",
    ),
    (
        PROBE_NOT_ACCEPTED,
        "on some version the certificate would not be sent (not asked for, issuer not among the CA names, a CertificateRequest over 64 KiB) or is rejected (an alert, a refusing HTTP status, the connection closed); without `--cert`: the server requires one (the handshake, or the first read on TLS 1.3, fails without one, whatever the alert, or it answers 400/401/403)",
    ),
    (
        PROBE_BROKEN,
        "bad input (URL, PEM), or a target that cannot be judged: unreachable, silent or too slow past `--timeout`, not TLS 1.2/1.3, garbage, a reset; the message names the cause",
    ),
];

/// `check-client`: no finding.
pub const CHECK_CLIENT_OK: i32 = 0;
/// `check-client`: at least one finding.
pub const CHECK_CLIENT_FINDING: i32 = 1;
/// `check-client`: a file that cannot be read, a password missing or wrong,
/// a bad flag, or a `--target` that cannot be probed.
pub const CHECK_CLIENT_UNREADABLE: i32 = 2;

/// `check-client`'s exit codes with what each means, for the generated
/// documentation.
pub const CHECK_CLIENT: [(i32, &str); 3] = [
    (CHECK_CLIENT_OK, "no finding: the credential loads, matches, is valid and (with `--target`) would be sent and accepted"),
    (CHECK_CLIENT_FINDING, "at least one finding, each printed as one `FINDING id: ... Fix: ...` line"),
    (CHECK_CLIENT_UNREADABLE, "a file that cannot be read (with the reason), a password missing or wrong, a bad flag, or a `--target` that cannot be probed"),
];

#[cfg(test)]
mod tests {
    use crate::interrupt::Signal;

    #[test]
    fn the_signal_codes_are_128_plus_the_signal() {
        assert_eq!(super::HUNG_UP, Signal::Hup.exit_code());
        assert_eq!(super::INTERRUPTED, Signal::Int.exit_code());
        assert_eq!(super::TERMINATED, Signal::Term.exit_code());
    }
}
