//! The store's address (`DATABASE_URL`, or the seed's `DATABASE_*` parts):
//! SQLite, PostgreSQL, S3 or DynamoDB, parsed once.

use std::path::PathBuf;

use url::Url;

use super::values::{Secret, parse_http_url};

/// Where the store lives (`DATABASE_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file; created when missing.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL (it may hold a password, hence `Secret`).
    Postgres(Secret),
    /// An S3 bucket, and a key prefix inside it (empty, or without leading
    /// and trailing slashes). Credentials are not part of the URL: the S3
    /// store reads the standard `AWS_*` variables itself (see
    /// `storage::s3::S3Store::open`).
    S3 {
        bucket: String,
        prefix: String,
        /// An S3-compatible endpoint (MinIO, DigitalOcean Spaces, moto);
        /// `None` for AWS itself.
        endpoint: Option<Url>,
        /// `None` leaves it to `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
        region: Option<String>,
    },
    /// One DynamoDB table (created when absent); credentials as for S3.
    DynamoDb {
        table: String,
        /// A local or compatible endpoint (moto, DynamoDB Local); `None`
        /// for AWS itself.
        endpoint: Option<Url>,
        /// `None` leaves it to `AWS_REGION`/`AWS_DEFAULT_REGION`, else `us-east-1`.
        region: Option<String>,
    },
}

impl DatabaseUrl {
    /// Where the store is, for people to read: the URL without its
    /// password.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(secret) => match Url::parse(secret.expose()) {
                Ok(mut url) => {
                    let _ = url.set_password(None);
                    url.to_string()
                }
                Err(_) => "postgres://…".to_owned(),
            },
            Self::S3 {
                bucket,
                prefix,
                endpoint,
                ..
            } => {
                let at = endpoint
                    .as_ref()
                    .map(|e| format!(" at {e}"))
                    .unwrap_or_default();
                format!("s3://{bucket}/{prefix}{at}")
            }
            Self::DynamoDb {
                table, endpoint, ..
            } => {
                let at = endpoint
                    .as_ref()
                    .map(|e| format!(" at {e}"))
                    .unwrap_or_default();
                format!("dynamodb://{table}{at}")
            }
        }
    }

    /// `sqlite:///absolute/path.db`, `sqlite://relative.db`, `sqlite:relative.db`,
    /// `postgres://user:password@host:port/database`, or
    /// `s3://bucket/prefix?endpoint=…&region=…`.
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            let url = Url::parse(value).map_err(|e| format!("not a valid PostgreSQL URL: {e}"))?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err("the PostgreSQL URL names no host".to_owned());
            }
            return Ok(Self::Postgres(Secret::new(value)));
        }
        if value.starts_with("s3://") {
            return parse_s3_url(value);
        }
        if value.starts_with("dynamodb://") {
            return parse_dynamodb_url(value);
        }
        let path = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!(
                    "`{value}` is not a supported database URL; use sqlite:///absolute/path.db, sqlite://relative.db, postgres://user:password@host/database, s3://bucket/prefix?endpoint=…&region=… or dynamodb://table?endpoint=…&region=…"
                )
            })?;
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err("the SQLite URL names no file, e.g. sqlite://backfeed.db".to_owned());
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

impl DatabaseUrl {
    /// A PostgreSQL URL with `key=value` added to its query unless it names
    /// `key` already; any other store's URL unchanged (the TLS settings
    /// concern PostgreSQL only).
    pub fn with_default_parameter(self, key: &str, value: &str) -> Self {
        let Self::Postgres(secret) = &self else {
            return self;
        };
        let Ok(mut url) = Url::parse(secret.expose()) else {
            return self;
        };
        if url.query_pairs().any(|(k, _)| k == key) {
            return self;
        }
        url.query_pairs_mut().append_pair(key, value);
        Self::Postgres(Secret::new(url.to_string()))
    }
}

/// libpq's `sslmode` values (`database.sslmode`, `PGSSLMODE`).
pub fn parse_sslmode(value: &str) -> Result<String, String> {
    const MODES: [&str; 6] = [
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];
    let value = value.trim();
    if MODES.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(format!("`{value}` is not one of {}", MODES.join(", ")))
    }
}

/// `s3://bucket[/prefix][?endpoint=http://host:port&region=name]`.
fn parse_s3_url(value: &str) -> Result<DatabaseUrl, String> {
    let url = Url::parse(value).map_err(|e| format!("not a valid S3 URL: {e}"))?;
    let bucket = url.host_str().unwrap_or_default().to_owned();
    if bucket.is_empty() || url.port().is_some() {
        return Err("the S3 URL names no bucket, e.g. s3://my-bucket/backfeed".to_owned());
    }
    let prefix = url.path().trim_matches('/').to_owned();
    if prefix.split('/').any(|part| matches!(part, "." | "..")) || prefix.contains("//") {
        return Err(format!("`{prefix}` is not a usable key prefix"));
    }
    let (endpoint, region) = endpoint_and_region(&url, "S3")?;
    Ok(DatabaseUrl::S3 {
        bucket,
        prefix,
        endpoint,
        region,
    })
}

/// `dynamodb://table[?endpoint=http://host:port&region=name]`.
fn parse_dynamodb_url(value: &str) -> Result<DatabaseUrl, String> {
    let url = Url::parse(value).map_err(|e| format!("not a valid DynamoDB URL: {e}"))?;
    let table = url.host_str().unwrap_or_default().to_owned();
    // DynamoDB table names: 3 to 255 of A-Z a-z 0-9 _ - . (host names
    // are lower-cased by the URL parser, so the name is taken as written).
    let written = value["dynamodb://".len()..]
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let valid = (3..=255).contains(&written.len())
        && written
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if table.is_empty() || url.port().is_some() || !valid {
        return Err("the DynamoDB URL names no valid table (3 to 255 of A-Z a-z 0-9 _ - .), e.g. dynamodb://backfeed".to_owned());
    }
    if !url.path().trim_matches('/').is_empty() {
        return Err("the DynamoDB URL takes no path after the table name".to_owned());
    }
    let (endpoint, region) = endpoint_and_region(&url, "DynamoDB")?;
    Ok(DatabaseUrl::DynamoDb {
        table: written.to_owned(),
        endpoint,
        region,
    })
}

/// The seed's `DATABASE_NAME/HOST/USER/PASSWORD/PORT` as a PostgreSQL URL.
pub fn postgres_url_from_parts(
    name: &str,
    host: &str,
    user: Option<&str>,
    password: Option<&str>,
    port: Option<&str>,
) -> Result<DatabaseUrl, String> {
    let mut url = Url::parse("postgres://localhost/").map_err(|e| e.to_string())?;
    url.set_host(Some(host.trim()))
        .map_err(|e| format!("`{host}` is not a host name: {e}"))?;
    if let Some(port) = port {
        let port: u16 = port
            .trim()
            .parse()
            .map_err(|_| format!("`{port}` is not a port number"))?;
        url.set_port(Some(port))
            .map_err(|()| "cannot set the port".to_owned())?;
    }
    if let Some(user) = user {
        url.set_username(user.trim())
            .map_err(|()| "cannot set the user".to_owned())?;
    }
    if let Some(password) = password {
        url.set_password(Some(password))
            .map_err(|()| "cannot set the password".to_owned())?;
    }
    url.set_path(name.trim());
    Ok(DatabaseUrl::Postgres(Secret::new(url.to_string())))
}

/// The `endpoint` and `region` parameters of an S3 or DynamoDB URL (`what`),
/// which must hold no credentials (those come from the AWS environment).
fn endpoint_and_region(url: &Url, what: &str) -> Result<(Option<Url>, Option<String>), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "the {what} URL must not hold credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ));
    }
    let (mut endpoint, mut region) = (None, None);
    for (key, val) in url.query_pairs() {
        match key.as_ref() {
            "endpoint" => endpoint = Some(parse_http_url(&val)?),
            "region" => region = Some(val.trim().to_owned()).filter(|r| !r.is_empty()),
            other => {
                return Err(format!(
                    "unknown {what} URL parameter `{other}`; known: endpoint, region"
                ));
            }
        }
    }
    Ok((endpoint, region))
}
