//! Account rules both sides need: where a sign-in form may lead afterwards, and what a new
//! password must be. The server enforces them; the pages show their messages.

/// Where a user with a one-time password chooses a new one.
pub const NEW_PASSWORD_PAGE: &str = "/account/password";
/// Shortest password a user may choose.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (it bounds the hashing work).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Where a form leads when it is given nowhere (or somewhere not allowed).
const DEFAULT_NEXT: &str = "/dashboard";

/// `next` when it is a path on this site, else the dashboard: never an open redirect.
/// Browsers drop tabs and line breaks from a URL (so `/\t/evil.example` goes to another
/// site) and read `\` as `/`; a line break cannot go in a `Location` header at all. So a
/// path with any control character is refused, not cleaned.
pub fn safe_next(next: &str) -> &str {
    let on_this_site = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if on_this_site && !next.chars().any(char::is_control) {
        next
    } else {
        DEFAULT_NEXT
    }
}

/// Why a new password was not taken. Travels back to the form as `?error=…`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Mismatch,
}

impl PasswordProblem {
    const ALL: [PasswordProblem; 3] = [Self::TooShort, Self::TooLong, Self::Mismatch];

    /// Its name in the form's `error` query parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooShort => "short",
            Self::TooLong => "long",
            Self::Mismatch => "mismatch",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// What the form tells the user.
    pub fn message(self) -> String {
        match self {
            Self::TooShort => {
                format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters.")
            }
            Self::TooLong => {
                format!("A password may have at most {MAX_PASSWORD_CHARS} characters.")
            }
            Self::Mismatch => "The two passwords differ.".to_string(),
        }
    }
}

/// Checks a new password and its confirmation.
pub fn check_new_password(password: &str, repeat: &str) -> Result<(), PasswordProblem> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(PasswordProblem::TooShort)
    } else if chars > MAX_PASSWORD_CHARS {
        Err(PasswordProblem::TooLong)
    } else if password != repeat {
        Err(PasswordProblem::Mismatch)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_never_an_open_redirect() {
        assert_eq!(safe_next("/chat/oracare-team"), "/chat/oracare-team");
        assert_eq!(safe_next("https://evil.example"), "/dashboard");
        assert_eq!(safe_next("//evil.example"), "/dashboard");
        assert_eq!(safe_next("/\\evil.example"), "/dashboard");
        assert_eq!(safe_next(""), "/dashboard");
        assert_eq!(safe_next("/\t/evil.example"), "/dashboard");
        assert_eq!(safe_next("/\n/evil.example"), "/dashboard");
        assert_eq!(safe_next("/chat\r\nSet-Cookie: x=1"), "/dashboard");
        assert_eq!(safe_next("/\u{7f}"), "/dashboard");
    }

    #[test]
    fn new_passwords_are_checked_in_order() {
        assert_eq!(
            check_new_password("short", "short"),
            Err(PasswordProblem::TooShort)
        );
        let long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(
            check_new_password(&long, &long),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_new_password("a long new password", "another one"),
            Err(PasswordProblem::Mismatch)
        );
        assert_eq!(
            check_new_password("a long new password", "a long new password"),
            Ok(())
        );
        // Characters, not bytes: ten accented letters are long enough.
        assert_eq!(check_new_password(&"é".repeat(10), &"é".repeat(10)), Ok(()));
    }

    #[test]
    fn problems_round_trip_through_the_query() {
        for p in PasswordProblem::ALL {
            assert_eq!(PasswordProblem::parse(p.as_str()), Some(p));
        }
        assert_eq!(PasswordProblem::parse("other"), None);
    }
}
