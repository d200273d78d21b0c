use std::collections::HashMap;
use std::io::Write;

use super::*;

fn load_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load(None, &|var| env.get(var).cloned(), Overrides::default())
}

const SEED_ENV: [(&str, &str); 4] = [
    ("MASTODON_HOST", "mastodon.example"),
    ("MASTODON_USER", "blogger"),
    ("MASTODON_OAUTH_TOKEN", "s3cret"),
    ("BLOG_POST_PATTERN", r"^https://blog\.example/posts/"),
];

#[test]
fn an_empty_environment_gives_defaults_and_announcing_off() {
    let config = load_env(&[]).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database, DatabaseUrl::Sqlite("backfeed.db".into()));
    assert_eq!(config.version, env!("CARGO_PKG_VERSION"));
    assert!(config.announce.is_none());
    assert_eq!(config.cors_origins, CorsOrigins::Any);
    assert!(!config.fetch.allow_private_addresses);
    let off = config.disabled_features().join("\n");
    assert!(
        off.contains("MASTODON_HOST") && off.contains("BACKFEED_SITES"),
        "{off}"
    );
}

#[test]
fn the_seeds_variables_work_as_they_are() {
    let mut vars = SEED_ENV.to_vec();
    vars.extend([
        ("BLOG_POST_POSTFIX", "#blog"),
        ("BLOG_TITLE_PATTERN", r"(?P<title>.*) \| Blog"),
        ("VERSION", "abc123"),
    ]);
    let config = load_env(&vars).unwrap();
    let announce = config.announce.clone().expect("announcing on");
    assert_eq!(
        announce.mastodon.base.api_base.as_str(),
        "https://mastodon.example/"
    );
    assert_eq!(announce.mastodon.base.host, "mastodon.example");
    assert_eq!(announce.mastodon.user, "blogger");
    assert_eq!(announce.mastodon.token.expose(), "s3cret");
    assert_eq!(announce.mastodon.visibility, Visibility::Public);
    assert_eq!(announce.postfix.as_deref(), Some("#blog"));
    assert!(announce.title_pattern.is_some());
    assert!(
        announce
            .post_pattern
            .matches("https://blog.example/posts/1")
    );
    assert_eq!(config.version, "abc123");
    assert!(!config.disabled_features().join(" ").contains("MASTODON"));
}

#[test]
fn a_full_base_url_is_accepted_for_the_mastodon_host() {
    let base = MastodonBase::parse("http://127.0.0.1:9000").unwrap();
    assert_eq!(base.host, "127.0.0.1:9000");
    assert_eq!(
        base.endpoint("/api/v1/statuses").as_str(),
        "http://127.0.0.1:9000/api/v1/statuses"
    );
    assert!(MastodonBase::parse("https://m.example/some/path").is_err());
    assert!(MastodonBase::parse("ftp://m.example").is_err());
}

#[test]
fn the_token_never_shows_in_debug_output() {
    let config = load_env(&SEED_ENV).unwrap();
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[test]
fn an_invalid_setting_names_the_key_and_the_variable() {
    let mut vars = SEED_ENV.to_vec();
    vars.push(("BLOG_POST_PATTERN", "(unclosed"));
    let message = load_env(&vars).unwrap_err().to_string();
    assert!(message.contains("blog.post_pattern"), "{message}");
    assert!(message.contains("BLOG_POST_PATTERN"), "{message}");

    for (var, value, key) in [
        ("BACKFEED_LISTEN", "nowhere", "listen"),
        ("PORT", "99999", "port"),
        ("DATABASE_URL", "mysql://x", "database_url"),
        ("BACKFEED_FETCH_TIMEOUT", "soon", "fetch.timeout"),
        (
            "BACKFEED_ALLOW_PRIVATE_ADDRESSES",
            "maybe",
            "fetch.allow_private_addresses",
        ),
        (
            "BACKFEED_CORS_ORIGINS",
            "https://a.example/path",
            "http.cors_origins",
        ),
        ("BACKFEED_LOG_FORMAT", "xml", "log.format"),
    ] {
        let message = load_env(&[(var, value)]).unwrap_err().to_string();
        assert!(
            message.contains(var) && message.contains(key),
            "{var}: {message}"
        );
    }
}

#[test]
fn partial_mastodon_settings_are_a_mistake_named_plainly() {
    let message = load_env(&[("MASTODON_HOST", "m.example")])
        .unwrap_err()
        .to_string();
    assert!(message.contains("MASTODON_USER"), "{message}");
}

#[test]
fn listen_comes_from_the_flag_then_backfeed_listen_then_port() {
    assert_eq!(
        load_env(&[("PORT", "9000")]).unwrap().listen.to_string(),
        "0.0.0.0:9000"
    );
    let both = load_env(&[("PORT", "9000"), ("BACKFEED_LISTEN", "127.0.0.1:7000")]).unwrap();
    assert_eq!(both.listen.to_string(), "127.0.0.1:7000");
    let flag = Config::load(
        None,
        &|var| (var == "BACKFEED_LISTEN").then(|| "127.0.0.1:7000".to_owned()),
        Overrides {
            listen: Some("127.0.0.1:6000".into()),
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(flag.listen.to_string(), "127.0.0.1:6000");
}

#[test]
fn database_urls_accept_absolute_and_relative_sqlite_paths() {
    assert_eq!(
        DatabaseUrl::parse("sqlite:///var/lib/b.db"),
        Ok(DatabaseUrl::Sqlite("/var/lib/b.db".into()))
    );
    assert_eq!(
        DatabaseUrl::parse("sqlite://data/b.db"),
        Ok(DatabaseUrl::Sqlite("data/b.db".into()))
    );
    assert!(DatabaseUrl::parse("sqlite://").is_err());
}

#[test]
fn the_environment_overrides_the_file_and_unknown_file_keys_are_refused() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "listen = \"127.0.0.1:1234\"\nversion = \"from-file\"\n[http]\ncors_origins = [\"https://a.example\", \"https://b.example\"]\n[fetch]\ntimeout = \"3s\""
    )
    .unwrap();
    let config = Config::load(
        Some(file.path()),
        &|var| (var == "VERSION").then(|| "from-env".to_owned()),
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:1234");
    assert_eq!(config.version, "from-env");
    assert_eq!(config.fetch.total_timeout, Duration::from_secs(3));
    assert_eq!(
        config.cors_origins,
        CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
    );

    let mut typo = tempfile::NamedTempFile::new().unwrap();
    writeln!(typo, "[mastodon]\nhots = \"x\"").unwrap();
    let err = Config::load(Some(typo.path()), &|_| None, Overrides::default()).unwrap_err();
    assert!(
        matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "mastodon.hots"),
        "{err}"
    );
}

#[test]
fn the_post_pattern_must_match_at_the_start_like_python_re_match() {
    let pattern = PostPattern::parse(r"https://blog\.example/").unwrap();
    assert!(pattern.matches("https://blog.example/p"));
    assert!(!pattern.matches("https://evil.example/?https://blog.example/"));
}

#[test]
fn the_example_config_is_valid_and_documents_every_setting() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config/example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    for setting in SETTINGS {
        let name = setting.key.rsplit('.').next().unwrap();
        assert!(
            text.contains(&format!("{name} =")),
            "example.toml does not document `{}`",
            setting.key
        );
        for var in setting.env {
            assert!(text.contains(var), "example.toml does not name {var}");
        }
    }
    Config::load(
        Some(std::path::Path::new(path)),
        &|_| None,
        Overrides::default(),
    )
    .expect("example.toml loads");
}

#[test]
fn webmention_settings_turn_receiving_on_and_parse_lists() {
    let config = load_env(&[
        (
            "BACKFEED_SITES",
            "https://blog.example/, https://www.blog.example/",
        ),
        ("BACKFEED_MODERATION", "manual"),
        ("BACKFEED_BLOCKED_DOMAINS", "spam.example, junk.example"),
        ("BACKFEED_VERIFY_RETRY_DELAYS", "10ms,1s"),
    ])
    .unwrap();
    let webmention = config.webmention.expect("receiving on");
    assert_eq!(webmention.sites.bases().len(), 2);
    assert_eq!(webmention.moderation, ModerationMode::Manual);
    assert!(webmention.blocked_domains.matches("a.junk.example"));
    assert_eq!(
        webmention.retry.delays,
        vec![Duration::from_millis(10), Duration::from_secs(1)]
    );
    assert!(load_env(&[]).unwrap().webmention.is_none());
    for (var, value) in [
        ("BACKFEED_SITES", "blog.example"),
        ("BACKFEED_MODERATION", "sometimes"),
        ("BACKFEED_BLOCKED_DOMAINS", "https://spam.example/"),
    ] {
        let mut vars = vec![("BACKFEED_SITES", "https://blog.example/")];
        vars.push((var, value));
        let message = load_env(&vars).unwrap_err().to_string();
        assert!(message.contains(var), "{var}: {message}");
    }
}

#[test]
fn postgres_urls_and_the_seeds_database_variables_select_postgresql() {
    let config = load_env(&[("DATABASE_URL", "postgres://u:p@db.example:5433/backfeed")]).unwrap();
    assert!(
        matches!(config.database, DatabaseUrl::Postgres(ref url) if url.expose() == "postgres://u:p@db.example:5433/backfeed")
    );
    assert!(
        !format!("{config:?}").contains(":p@"),
        "the password never shows in Debug output"
    );

    let seed = load_env(&[
        ("DATABASE_NAME", "posts"),
        ("DATABASE_HOST", "db.example"),
        ("DATABASE_USER", "blog"),
        ("DATABASE_PASSWORD", "p@ss word"),
        ("DATABASE_PORT", "5433"),
    ])
    .unwrap();
    let DatabaseUrl::Postgres(url) = seed.database else {
        panic!("PostgreSQL expected")
    };
    assert_eq!(
        url.expose(),
        "postgres://blog:p%40ss%20word@db.example:5433/posts"
    );

    let message = load_env(&[("DATABASE_HOST", "db.example")])
        .unwrap_err()
        .to_string();
    assert!(message.contains("DATABASE_NAME"), "{message}");
}

#[test]
fn tls_settings_fill_in_what_the_postgres_url_leaves_out_as_libpq_does() {
    let postgres = |vars: &[(&str, &str)]| match load_env(vars).unwrap().database {
        DatabaseUrl::Postgres(url) => url.expose().to_owned(),
        other => panic!("PostgreSQL expected, got {other:?}"),
    };
    assert_eq!(
        postgres(&[
            ("DATABASE_NAME", "posts"),
            ("DATABASE_HOST", "db.example"),
            ("PGSSLMODE", "verify-full"),
            ("PGSSLROOTCERT", "/etc/ca.pem"),
        ]),
        "postgres://db.example/posts?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"
    );
    assert_eq!(
        postgres(&[
            ("DATABASE_URL", "postgres://u@db.example/d?sslmode=disable"),
            ("DATABASE_SSLMODE", "require"),
        ]),
        "postgres://u@db.example/d?sslmode=disable",
        "the URL's own parameter wins"
    );
    let sqlite = load_env(&[("PGSSLMODE", "require")]).unwrap();
    assert_eq!(sqlite.database, DatabaseUrl::Sqlite("backfeed.db".into()));
    let message = load_env(&[("DATABASE_SSLMODE", "strict")])
        .unwrap_err()
        .to_string();
    assert!(message.contains("DATABASE_SSLMODE"), "{message}");
}

#[test]
fn s3_database_urls_name_bucket_prefix_endpoint_and_region() {
    assert_eq!(
        DatabaseUrl::parse(
            "s3://blog-meta/backfeed/prod?endpoint=http://127.0.0.1:9000&region=us-east-1"
        ),
        Ok(DatabaseUrl::S3 {
            bucket: "blog-meta".into(),
            prefix: "backfeed/prod".into(),
            endpoint: Some(url::Url::parse("http://127.0.0.1:9000").unwrap()),
            region: Some("us-east-1".into()),
        })
    );
    assert_eq!(
        DatabaseUrl::parse("s3://blog-meta"),
        Ok(DatabaseUrl::S3 {
            bucket: "blog-meta".into(),
            prefix: String::new(),
            endpoint: None,
            region: None,
        }),
        "no prefix: the seed's keys sit at the bucket's root"
    );
    for bad in [
        "s3://",
        "s3://key:secret@bucket/p",
        "s3://bucket/p?endpoint=ftp://x",
        "s3://bucket/p?tls=off",
        "s3://bucket/a//b",
    ] {
        assert!(DatabaseUrl::parse(bad).is_err(), "{bad} must be refused");
    }
}

#[test]
fn dynamodb_database_urls_name_the_table_as_written_endpoint_and_region() {
    assert_eq!(
        DatabaseUrl::parse(
            "dynamodb://Backfeed_Prod?endpoint=http://127.0.0.1:5000&region=eu-west-1"
        ),
        Ok(DatabaseUrl::DynamoDb {
            table: "Backfeed_Prod".into(),
            endpoint: Some(url::Url::parse("http://127.0.0.1:5000").unwrap()),
            region: Some("eu-west-1".into()),
        })
    );
    assert_eq!(
        DatabaseUrl::parse("dynamodb://backfeed"),
        Ok(DatabaseUrl::DynamoDb {
            table: "backfeed".into(),
            endpoint: None,
            region: None,
        })
    );
    for bad in [
        "dynamodb://",
        "dynamodb://ab",
        "dynamodb://key:secret@table",
        "dynamodb://table/extra",
        "dynamodb://table?endpoint=ftp://x",
        "dynamodb://table?billing=provisioned",
        "dynamodb://ta%20ble",
    ] {
        assert!(DatabaseUrl::parse(bad).is_err(), "{bad} must be refused");
    }
}

#[test]
fn server_limits_have_defaults_and_come_from_the_environment() {
    let config = load_env(&[]).unwrap();
    assert_eq!(config.server, ServerConfig::default());
    assert_eq!(config.server.header_read_timeout, Duration::from_secs(10));
    assert_eq!(config.server.idle_timeout, Duration::from_secs(60));
    assert_eq!(config.server.max_connections, 1024);
    assert_eq!(config.server.shutdown_grace, Duration::from_secs(10));
    assert_eq!(config.request_timeout, Duration::from_secs(60));
    assert_eq!(config.body_timeout, Duration::from_secs(30));

    let config = load_env(&[
        ("BACKFEED_HEADER_READ_TIMEOUT", "2s"),
        ("BACKFEED_IDLE_TIMEOUT", "500ms"),
        ("BACKFEED_MAX_CONNECTIONS", "8"),
        ("BACKFEED_SHUTDOWN_GRACE", "1m"),
        ("BACKFEED_REQUEST_TIMEOUT", "5s"),
        ("BACKFEED_BODY_TIMEOUT", "3"),
    ])
    .unwrap();
    assert_eq!(
        config.server,
        ServerConfig {
            header_read_timeout: Duration::from_secs(2),
            idle_timeout: Duration::from_millis(500),
            max_connections: 8,
            shutdown_grace: Duration::from_secs(60),
        }
    );
    assert_eq!(config.request_timeout, Duration::from_secs(5));
    assert_eq!(config.body_timeout, Duration::from_secs(3));

    let error = load_env(&[("BACKFEED_MAX_CONNECTIONS", "0")]).unwrap_err();
    assert!(
        error.to_string().contains("server.max_connections")
            && error.to_string().contains("BACKFEED_MAX_CONNECTIONS"),
        "{error}"
    );
}

#[test]
fn a_store_is_shown_without_its_password() {
    let url = DatabaseUrl::Postgres(Secret::new("postgres://bf:hunter2@db.example:5432/bf"));
    assert_eq!(url.redacted(), "postgres://bf@db.example:5432/bf");
}

#[test]
fn read_tokens_are_a_list_of_long_enough_tokens() {
    let config = load_env(&[(
        "BACKFEED_READ_TOKENS",
        "aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbbbbbb",
    )])
    .unwrap();
    let tokens: Vec<_> = config.read_tokens.iter().map(|t| t.expose()).collect();
    assert_eq!(tokens, ["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb"]);
    let error = load_env(&[("BACKFEED_READ_TOKENS", "aaaaaaaaaaaaaaaa,short")])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("BACKFEED_READ_TOKENS") && error.contains("16"),
        "{error}"
    );
    assert!(load_env(&[]).unwrap().read_tokens.is_empty());
}

#[test]
fn the_webhook_format_is_ours_unless_webmention_io_s_is_asked_for() {
    let hook = |format: Option<&str>| {
        let mut env = vec![
            ("BACKFEED_SITES", "https://blog.example/"),
            ("BACKFEED_WEBHOOK_URL", "https://hooks.example/x"),
            ("BACKFEED_WEBHOOK_SECRET", "0123456789abcdef"),
        ];
        env.extend(format.map(|f| ("BACKFEED_WEBHOOK_FORMAT", f)));
        load_env(&env).map(|c| c.webmention.unwrap().webhook.unwrap().format)
    };
    assert_eq!(hook(None).unwrap(), crate::config::WebhookFormat::Backfeed);
    assert_eq!(
        hook(Some("webmention.io")).unwrap(),
        crate::config::WebhookFormat::WebmentionIo
    );
    assert!(hook(Some("xml")).is_err());
}

#[test]
fn activitypub_is_off_by_default_and_needs_the_public_url_when_on() {
    assert!(load_env(&[]).unwrap().activitypub.is_none());
    let message = load_env(&[("BACKFEED_ACTIVITYPUB", "true")])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("public_url") && message.contains("BACKFEED_PUBLIC_URL"),
        "{message}"
    );
}

#[test]
fn activitypub_settings_come_from_the_environment() {
    let config = load_env(&[
        ("BACKFEED_ACTIVITYPUB", "true"),
        ("BACKFEED_PUBLIC_URL", "http://localhost:8080/"),
        ("BACKFEED_SITES", "https://blog.example/"),
        ("BACKFEED_ACTOR", "@notes"),
        ("BACKFEED_ACTOR_NAME", "My Notes"),
        ("BACKFEED_ACTOR_LINKS", "Blog=https://blog.example/"),
        ("BACKFEED_ACTIVITYPUB_OBJECT", "note"),
        ("BACKFEED_ACTIVITYPUB_SHOW_FOLLOWERS", "yes"),
    ])
    .unwrap();
    let ap = config.activitypub.unwrap();
    assert_eq!(ap.handle(), "notes@localhost:8080");
    assert_eq!(ap.name, "My Notes");
    assert_eq!(ap.blog_url.as_str(), "https://blog.example/");
    assert_eq!(ap.links.len(), 1);
    assert_eq!(ap.object, ObjectType::Note);
    assert!(ap.show_followers && ap.discoverable && ap.indexable);
}

#[test]
fn an_invalid_activitypub_setting_names_its_variable() {
    let message = load_env(&[
        ("BACKFEED_ACTIVITYPUB", "true"),
        ("BACKFEED_PUBLIC_URL", "https://c.example/"),
        ("BACKFEED_ACTIVITYPUB_OBJECT", "video"),
    ])
    .unwrap_err()
    .to_string();
    assert!(message.contains("BACKFEED_ACTIVITYPUB_OBJECT"), "{message}");
}

#[test]
fn thread_freshness_grows_to_max_ttl_and_refreshing_inline_is_off_by_default() {
    let config = load_env(&[]).unwrap();
    assert_eq!(config.threads.ttl, Duration::from_secs(300));
    assert_eq!(config.threads.max_ttl, Duration::from_secs(12 * 3600));
    assert!(!config.threads.refresh_inline);

    let config = load_env(&[
        ("BACKFEED_THREAD_TTL", "1m"),
        ("BACKFEED_THREAD_MAX_TTL", "1m"),
        ("BACKFEED_THREAD_REFRESH_INLINE", "true"),
    ])
    .unwrap();
    assert_eq!(config.threads.max_ttl, Duration::from_secs(60));
    assert!(config.threads.refresh_inline);

    // A ttl longer than the default maximum raises the maximum with it.
    let config = load_env(&[("BACKFEED_THREAD_TTL", "1d")]).unwrap();
    assert_eq!(config.threads.max_ttl, Duration::from_secs(86_400));

    let error = load_env(&[
        ("BACKFEED_THREAD_TTL", "10m"),
        ("BACKFEED_THREAD_MAX_TTL", "5m"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("BACKFEED_THREAD_MAX_TTL") && error.contains("shorter than threads.ttl"),
        "{error}"
    );
}
