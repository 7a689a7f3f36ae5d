//! Users, credentials and the identity a request acts as.

use std::fmt;

use super::Timestamp;
use crate::error::AppError;

/// 3 to 32 characters of `[A-Za-z0-9_.-]`. Kept as typed; unique case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub fn parse(text: &str) -> Result<Username, AppError> {
        let ok_len = (3..=32).contains(&text.len());
        let ok_chars = text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok_len && ok_chars {
            Ok(Username(text.to_owned()))
        } else {
            Err(AppError::validation(
                "username must be 3 to 32 characters of letters, digits, '_', '.' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is decided on.
    pub fn normalized(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 8 to 128 characters. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Password, AppError> {
        if (8..=128).contains(&text.chars().count()) {
            Ok(Password(text.to_owned()))
        } else {
            Err(AppError::validation("password must be 8 to 128 characters"))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "customer" => Some(Role::Customer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(skip)]
    pub created_at: Timestamp,
}

/// A user as stored: the password hash (for login only) and the role, which
/// only an operator changes (`UserRepo::set_user_role`), never a request.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: String,
    pub role: Role,
}

impl UserRecord {
    /// Who this user acts as once authenticated.
    pub fn identity(&self) -> Identity {
        Identity {
            user_id: self.user.id,
            username: self.user.username.clone(),
            role: self.role,
        }
    }
}

/// What `register` hands to the store.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: Username,
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// Who a request acts as, from the authorizer's context or a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The ownership rule: only the owner or an admin touches a user's data.
    pub fn ensure_can_access(&self, owner_id: i64) -> Result<(), AppError> {
        if self.user_id == owner_id || self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "this resource belongs to another user".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_validated() {
        assert!(Username::parse("alice_01.x-y").is_ok());
        for bad in ["ab", "a b c", "ümlaut", &"x".repeat(33), "semi;colon", ""] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Username::parse("Alice").unwrap().normalized(), "alice");
    }

    #[test]
    fn passwords_are_bounded_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"p".repeat(129)).is_err());
        let p = Password::parse("correct horse").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn only_owner_or_admin_may_access() {
        let alice = Identity {
            user_id: 1,
            username: "alice".into(),
            role: Role::Customer,
        };
        assert!(alice.ensure_can_access(1).is_ok());
        assert!(alice.ensure_can_access(2).is_err());
        let admin = Identity {
            role: Role::Admin,
            ..alice
        };
        assert!(admin.ensure_can_access(2).is_ok());
    }
}
