//! Secret settings (`JWT_SECRET`, `DATABASE_URL`, `POSTGRES_PASSWORD`,
//! `CLICKHOUSE_PASSWORD`): the value itself, or a reference to it in AWS,
//! fetched on first use, once per execution environment, then kept.
//!
//! - `arn:aws:secretsmanager:...` is a Secrets Manager secret (its SecretString);
//! - `arn:aws:ssm:...:parameter/...`, or `ssm:` and a parameter name, is an SSM
//!   parameter (GetParameter with decryption, for SecureString).
//!
//! Reading the configuration only records the reference: no AWS call at cold
//! start. A value is never logged: `Debug` shows the reference or `<redacted>`,
//! and errors name the setting and the reference, never the value.

use std::sync::Arc;

#[cfg(feature = "aws-secrets")]
use tokio::sync::OnceCell;

use super::config_error;
use crate::error::{AppError, AppResult};

/// Where a secret lives in AWS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretRef {
    /// The ARN of a Secrets Manager secret.
    SecretsManager(String),
    /// An SSM parameter: its name, or its ARN.
    Ssm(String),
}

impl SecretRef {
    /// The reference a setting's value holds, if it holds one.
    pub fn parse(value: &str) -> Option<SecretRef> {
        if let Some(name) = value.strip_prefix("ssm:") {
            return Some(SecretRef::Ssm(name.to_owned()));
        }
        // arn:<partition>:<service>:<region>:<account>:<resource>
        let mut parts = value.splitn(6, ':');
        let (arn, partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        if arn != "arn" || !partition.starts_with("aws") {
            return None;
        }
        let resource = parts.nth(2)?;
        match service {
            "secretsmanager" => Some(SecretRef::SecretsManager(value.to_owned())),
            "ssm" if resource.starts_with("parameter/") => Some(SecretRef::Ssm(value.to_owned())),
            _ => None,
        }
    }
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::SecretsManager(arn) => write!(f, "Secrets Manager secret {arn}"),
            SecretRef::Ssm(name) => write!(f, "SSM parameter {name}"),
        }
    }
}

/// What a secret's value must be, checked on the plain value at start and on
/// a fetched value when it arrives. The message must not include the value.
pub(crate) type Check = fn(&str) -> Result<(), &'static str>;

/// A secret setting. Clones share the fetched value.
#[derive(Clone)]
pub struct Secret {
    inner: Arc<Inner>,
}

struct Inner {
    /// The setting's name, for messages.
    setting: &'static str,
    source: Source,
}

enum Source {
    Plain(String),
    /// Only in binaries that can fetch it: elsewhere a reference stops the start.
    #[cfg(feature = "aws-secrets")]
    Aws {
        reference: SecretRef,
        fetcher: Arc<crate::secrets::AwsSecrets>,
        /// Applied to the value when it arrives.
        check: Option<Check>,
        value: OnceCell<String>,
    },
}

impl Secret {
    /// A value given as it is (local use, tests).
    pub fn plain(setting: &'static str, value: impl Into<String>) -> Secret {
        Secret {
            inner: Arc::new(Inner {
                setting,
                source: Source::Plain(value.into()),
            }),
        }
    }

    /// The setting `value` of `setting`: a reference (kept for first use) or
    /// the value itself (checked now).
    pub(crate) fn from_setting(
        setting: &'static str,
        value: String,
        check: Option<Check>,
        aws: &AwsContext,
    ) -> Result<Secret, AppError> {
        let source = match SecretRef::parse(&value) {
            Some(reference) => aws.source(setting, reference, check)?,
            None => {
                if let Some(check) = check {
                    check(&value).map_err(|why| config_error(&format!("{setting} {why}")))?;
                }
                Source::Plain(value)
            }
        };
        Ok(Secret {
            inner: Arc::new(Inner { setting, source }),
        })
    }

    /// The AWS reference, when the value lives in AWS.
    pub fn reference(&self) -> Option<&SecretRef> {
        match &self.inner.source {
            Source::Plain(_) => None,
            #[cfg(feature = "aws-secrets")]
            Source::Aws { reference, .. } => Some(reference),
        }
    }

    /// The value when it was given as it is; `None` for a reference.
    pub fn plain_value(&self) -> Option<&str> {
        match &self.inner.source {
            Source::Plain(value) => Some(value),
            #[cfg(feature = "aws-secrets")]
            Source::Aws { .. } => None,
        }
    }

    /// The value: at once when given as it is; for a reference, fetched on the
    /// first call (concurrent first callers wait for one fetch), checked, and
    /// kept for every later call. A failed fetch is not kept: the next call
    /// tries again.
    pub async fn value(&self) -> AppResult<&str> {
        match &self.inner.source {
            Source::Plain(value) => Ok(value),
            #[cfg(feature = "aws-secrets")]
            Source::Aws {
                reference,
                fetcher,
                check,
                value,
            } => {
                let value = value
                    .get_or_try_init(|| async {
                        // Boxed: the SDK's futures are deep, and every caller's
                        // future would otherwise embed them (rustc's layout depth).
                        let fetched =
                            Box::pin(fetcher.fetch(self.inner.setting, reference)).await?;
                        if let Some(check) = check {
                            check(&fetched).map_err(|why| {
                                AppError::internal(format!(
                                    "configuration: {} from {reference} {why}",
                                    self.inner.setting
                                ))
                            })?;
                        }
                        Ok::<_, AppError>(fetched)
                    })
                    .await?;
                Ok(value)
            }
        }
    }
}

/// Shows the reference, never a value.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner.source {
            Source::Plain(_) => write!(f, "Secret({}: <redacted>)", self.inner.setting),
            #[cfg(feature = "aws-secrets")]
            Source::Aws { reference, .. } => {
                write!(f, "Secret({}: {reference})", self.inner.setting)
            }
        }
    }
}

/// What the secrets of one configuration share: how to reach AWS. Making it
/// costs nothing; the clients are built on the first fetch.
#[derive(Clone)]
pub(crate) struct AwsContext {
    #[cfg(feature = "aws-secrets")]
    fetcher: Arc<crate::secrets::AwsSecrets>,
}

impl AwsContext {
    pub(crate) fn from_lookup(get: &impl super::Lookup) -> AwsContext {
        #[cfg(not(feature = "aws-secrets"))]
        let _ = get;
        AwsContext {
            #[cfg(feature = "aws-secrets")]
            fetcher: Arc::new(crate::secrets::AwsSecrets::from_lookup(get)),
        }
    }

    #[cfg_attr(not(feature = "aws-secrets"), allow(clippy::unused_self))]
    fn source(
        &self,
        setting: &str,
        reference: SecretRef,
        check: Option<Check>,
    ) -> Result<Source, AppError> {
        #[cfg(feature = "aws-secrets")]
        {
            let _ = setting;
            Ok(Source::Aws {
                reference,
                fetcher: self.fetcher.clone(),
                check,
                value: OnceCell::new(),
            })
        }
        #[cfg(not(feature = "aws-secrets"))]
        {
            let _ = check;
            Err(config_error(&format!(
                "{setting} names the {reference}, but this binary was built without the cargo feature `aws-secrets`"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_told_from_values() {
        let arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf";
        assert_eq!(
            SecretRef::parse(arn),
            Some(SecretRef::SecretsManager(arn.into()))
        );
        let param = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/jwt";
        assert_eq!(SecretRef::parse(param), Some(SecretRef::Ssm(param.into())));
        assert_eq!(
            SecretRef::parse("ssm:/prod/db-url"),
            Some(SecretRef::Ssm("/prod/db-url".into()))
        );
        let china = "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:x";
        assert!(matches!(
            SecretRef::parse(china),
            Some(SecretRef::SecretsManager(_))
        ));
        for value in [
            "0123456789abcdef0123456789abcdef",
            "postgres://u:p@h/db",
            "arn:aws:s3:::bucket/key",
            "arn:aws:ssm:eu-west-1:123456789012:document/x",
            "arn:aws:secretsmanager",
        ] {
            assert_eq!(SecretRef::parse(value), None, "{value}");
        }
    }

    #[tokio::test]
    async fn a_plain_secret_is_its_value_and_never_shown() {
        let secret = Secret::plain("CLICKHOUSE_PASSWORD", "s3cret!");
        assert_eq!(secret.value().await.unwrap(), "s3cret!");
        assert_eq!(secret.plain_value(), Some("s3cret!"));
        assert_eq!(secret.reference(), None);
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn a_plain_value_is_checked_when_read() {
        let aws = AwsContext::from_lookup(&|_: &str| None);
        let at_least_8: Check = |v| {
            if v.len() >= 8 {
                Ok(())
            } else {
                Err("must be at least 8 bytes")
            }
        };
        let short = Secret::from_setting("X", "short".into(), Some(at_least_8), &aws);
        // The detail (Debug; Display is a fixed sentence) names the setting, not the value.
        let message = format!("{:?}", short.unwrap_err());
        assert!(message.contains("X must be at least 8 bytes"), "{message}");
        assert!(!message.contains("short"), "{message}");
        assert!(Secret::from_setting("X", "long enough".into(), Some(at_least_8), &aws).is_ok());
    }

    #[cfg(not(feature = "aws-secrets"))]
    #[test]
    fn without_the_feature_a_reference_stops_the_start() {
        let aws = AwsContext::from_lookup(&|_: &str| None);
        let error = Secret::from_setting("JWT_SECRET", "ssm:/jwt".into(), None, &aws).unwrap_err();
        assert!(format!("{error:?}").contains("aws-secrets"));
    }
}
