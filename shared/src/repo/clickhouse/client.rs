//! A minimal client for ClickHouse's HTTP interface, enough for this backend:
//! statements in the POST body, row data as JSON lines, results as JSON lines.
//! Every request has a connect timeout and a whole-request timeout, and the
//! server is told the same budget (`max_execution_time`), so a slow or absent
//! server costs a bounded wait and surfaces as `AppError::Unavailable` (503).
//! `https://` URLs are verified against the system's roots, or against
//! `CLICKHOUSE_CA_FILE` alone when it is set.

use std::path::PathBuf;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::config::{ClickHouseConfig, Secret};
use crate::error::{AppError, AppResult};

/// ClickHouse error codes that mean "try again later", not "this is a bug".
const TRANSIENT_CODES: &[u32] = &[
    159, // TIMEOUT_EXCEEDED
    160, // TOO_SLOW
    202, // TOO_MANY_SIMULTANEOUS_QUERIES
    203, // NO_FREE_CONNECTION
    209, // SOCKET_TIMEOUT
    210, // NETWORK_ERROR
    241, // MEMORY_LIMIT_EXCEEDED
    242, // TABLE_IS_READ_ONLY
    252, // TOO_MANY_PARTS
    319, // UNKNOWN_STATUS_OF_INSERT
    394, // QUERY_WAS_CANCELLED
    425, // SYSTEM_ERROR
    473, // DEADLOCK_AVOIDED (a `Log` table's lock wait timed out)
];

/// Codes a concurrent `CREATE ... IF NOT EXISTS` can still raise on old
/// servers (the check and the creation are not atomic there): already done.
const ALREADY_EXISTS_CODES: &[u32] = &[57, 82];

pub(crate) struct Http {
    /// Built on first use, not at cold start: with TLS it loads the system's
    /// root certificates (milliseconds), or reads the CA file.
    client: OnceCell<reqwest::Client>,
    base: Url,
    ca_file: Option<PathBuf>,
    connect_timeout: Duration,
    request_timeout: Duration,
    user: String,
    /// Fetched on the first request when it lives in AWS.
    password: Secret,
    database: String,
    ping_timeout: Duration,
    /// Whole seconds for the server's `max_execution_time`.
    execution_seconds: u64,
}

impl Http {
    pub(crate) fn new(config: &ClickHouseConfig) -> AppResult<Http> {
        let base = Url::parse(&config.url)
            .map_err(|_| AppError::internal("configuration: CLICKHOUSE_URL is not a valid URL"))?;
        Ok(Http {
            client: OnceCell::new(),
            base,
            ca_file: config.ca_file.clone(),
            connect_timeout: config.connect_timeout,
            request_timeout: config.request_timeout,
            user: config.user.clone(),
            password: config.password.clone(),
            database: config.database.clone(),
            ping_timeout: config.connect_timeout,
            execution_seconds: config.request_timeout.as_secs().max(1),
        })
    }

    async fn client(&self) -> AppResult<&reqwest::Client> {
        self.client
            .get_or_try_init(|| async {
                crate::tls::install_crypto_provider();
                let builder = reqwest::Client::builder()
                    .connect_timeout(self.connect_timeout)
                    // The server answers and then the client waits this much more at most.
                    .timeout(self.request_timeout + Duration::from_secs(1))
                    // Below the server's keep-alive (3 s on 18.16, longer on current
                    // versions), so a pooled connection is never one the server closed.
                    .pool_idle_timeout(Duration::from_secs(2))
                    .pool_max_idle_per_host(8);
                let builder = match (&self.ca_file, self.base.scheme()) {
                    (Some(path), _) => {
                        let pem = tokio::fs::read(path).await.map_err(|e| {
                            AppError::internal(format!(
                                "configuration: cannot read CLICKHOUSE_CA_FILE {}: {e}",
                                path.display()
                            ))
                        })?;
                        let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                            AppError::internal(format!(
                                "configuration: CLICKHOUSE_CA_FILE {} holds no PEM certificates: {e}",
                                path.display()
                            ))
                        })?;
                        builder.tls_certs_only(roots)
                    }
                    // Plain HTTP never uses TLS: skip loading the system's roots.
                    (None, "http") => builder.tls_certs_only([]),
                    (None, _) => builder,
                };
                builder
                    .build()
                    .map_err(|e| AppError::internal(format!("cannot build the HTTP client: {e}")))
            })
            .await
    }

    fn url(&self, in_database: bool, query: Option<&str>) -> Url {
        let mut url = self.base.clone();
        {
            let mut pairs = url.query_pairs_mut();
            if in_database {
                pairs.append_pair("database", &self.database);
            }
            if let Some(query) = query {
                pairs.append_pair("query", query);
            }
            pairs
                .append_pair("default_format", "JSONEachRow")
                // 64-bit integers as JSON numbers, not strings (18.16's default).
                .append_pair("output_format_json_quote_64bit_integers", "0")
                // Buffer the answer, so an error is an HTTP error status and
                // never a 200 whose body breaks off.
                .append_pair("wait_end_of_query", "1")
                .append_pair("max_execution_time", &self.execution_seconds.to_string());
        }
        url
    }

    async fn send(&self, url: Url, body: String, timeout: Option<Duration>) -> AppResult<String> {
        let password = self.password.value().await?;
        let mut request = self
            .client()
            .await?
            .post(url)
            .basic_auth(&self.user, Some(password))
            .body(body);
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let text = response.text().await.map_err(unreachable)?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(server_error(status, &text))
        }
    }

    /// Runs DDL that returns nothing, in the configured database or, for
    /// `CREATE DATABASE`, outside it; "already exists" is success.
    pub(crate) async fn execute_idempotent(&self, sql: &str, in_database: bool) -> AppResult<()> {
        match self
            .send(self.url(in_database, None), sql.to_owned(), None)
            .await
        {
            Err(AppError::Internal(detail))
                if exception_code(&detail).is_some_and(|c| ALREADY_EXISTS_CODES.contains(&c)) =>
            {
                Ok(())
            }
            other => other.map(drop),
        }
    }

    /// Inserts rows as one block: the insert is applied whole and, on a single
    /// server, is visible to every query that starts after this returns.
    pub(crate) async fn insert<T: Serialize>(
        &self,
        table: &'static str,
        rows: &[T],
    ) -> AppResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut body = String::new();
        for row in rows {
            body.push_str(&serde_json::to_string(row).map_err(AppError::internal)?);
            body.push('\n');
        }
        let head = super::sql::insert(table);
        self.send(self.url(true, Some(&head)), body, None)
            .await
            .map(drop)
    }

    /// Runs a query and decodes each JSON line of its answer.
    pub(crate) async fn select<T: DeserializeOwned>(&self, sql: &str) -> AppResult<Vec<T>> {
        let text = self
            .send(self.url(true, None), sql.to_owned(), None)
            .await?;
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| {
                    AppError::internal(format!(
                        "unexpected ClickHouse answer ({e}): {}",
                        clip(line)
                    ))
                })
            })
            .collect()
    }

    pub(crate) async fn select_one<T: DeserializeOwned>(&self, sql: &str) -> AppResult<Option<T>> {
        Ok(self.select(sql).await?.into_iter().next())
    }

    /// One cheap round trip within the connect budget, credentials included.
    pub(crate) async fn ping(&self) -> AppResult<()> {
        self.send(
            self.url(false, None),
            super::sql::PING.to_owned(),
            Some(self.ping_timeout),
        )
        .await
        .map(drop)
    }
}

/// The server could not be reached, or went away mid-answer, or took too long,
/// or its certificate was refused. The whole chain of causes goes to the log:
/// reqwest's own message names only the URL.
fn unreachable(e: reqwest::Error) -> AppError {
    let mut detail = format!("ClickHouse unreachable: {e}");
    let mut cause = std::error::Error::source(&e);
    while let Some(inner) = cause {
        detail.push_str(&format!(": {inner}"));
        cause = inner.source();
    }
    AppError::unavailable(detail)
}

fn server_error(status: StatusCode, body: &str) -> AppError {
    let detail = format!("ClickHouse answered {status}: {}", clip(body.trim()));
    let transient_status = matches!(
        status,
        StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
    );
    if transient_status || exception_code(body).is_some_and(|c| TRANSIENT_CODES.contains(&c)) {
        AppError::unavailable(detail)
    } else {
        AppError::internal(detail)
    }
}

/// The `N` of `Code: N` in an exception text (both the 18.16 form
/// `Code: 60, e.displayText() = ...` and the current `Code: 60. DB::Exception`).
pub(crate) fn exception_code(text: &str) -> Option<u32> {
    let rest = &text[text.find("Code: ")? + "Code: ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Server messages go to logs only; keep them short.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(300) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exception_codes_of_old_and_new_servers() {
        assert_eq!(
            exception_code("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist."),
            Some(60)
        );
        assert_eq!(
            exception_code("Code: 252. DB::Exception: Too many parts (300)."),
            Some(252)
        );
        assert_eq!(
            exception_code("ClickHouse answered 500: Code: 473, e.displayText() = ..."),
            Some(473)
        );
        assert_eq!(exception_code("gateway timeout"), None);
    }

    #[test]
    fn transient_failures_are_unavailable_and_the_rest_internal() {
        let too_many_parts = server_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Code: 252. DB::Exception: Too many parts",
        );
        assert!(matches!(too_many_parts, AppError::Unavailable(_)));
        assert!(matches!(
            server_error(StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::Unavailable(_)
        ));
        let syntax = server_error(
            StatusCode::BAD_REQUEST,
            "Code: 62, e.displayText() = DB::Exception: Syntax error",
        );
        assert!(matches!(syntax, AppError::Internal(_)));
        assert_eq!(
            syntax.public_message(),
            "internal server error",
            "no SQL reaches the client"
        );
    }
}
