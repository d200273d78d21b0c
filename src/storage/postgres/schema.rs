//! Versioned PostgreSQL schema, applied at start-up.
//!
//! `schema_migrations` holds one row per migration applied. Migrations are
//! append-only: never edit one that has shipped, add the next. Each runs in
//! its own transaction under a transaction-scoped advisory lock, and the
//! version is re-read under that lock, so several instances starting at once
//! apply each migration exactly once. The tables mirror the SQLite schema;
//! times are `timestamptz` written at millisecond precision, and the text
//! columns that are sorted on use the "C" collation so that they sort by
//! code point, as SQLite does, whatever the database's locale.

use deadpool_postgres::Object;

use super::rows::column;
use crate::storage::StoreError;

/// The advisory lock key for migrations: "backfeed" in ASCII.
const LOCK_KEY: i64 = 0x6261_636b_6665_6564;

const MIGRATIONS: &[&str] = &[
    // 1: the URL → toot mapping and its claim lease.
    r#"CREATE TABLE posts (
        url TEXT COLLATE "C" PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('claimed', 'announced', 'failed')),
        toot_id TEXT,
        claim_token TEXT,
        claim_expires_at TIMESTAMPTZ,
        failure TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    );"#,
    // 2: received webmentions and their durable verification queue.
    r#"CREATE TABLE mentions (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        verification TEXT NOT NULL CHECK (verification IN ('pending', 'verified', 'rejected', 'deleted')),
        reason TEXT,
        moderation TEXT NOT NULL CHECK (moderation IN ('approved', 'pending', 'hidden')),
        property TEXT,
        rsvp TEXT,
        author_name TEXT,
        author_photo TEXT,
        author_url TEXT,
        content_html TEXT,
        content_text TEXT,
        name TEXT,
        published TEXT COLLATE "C",
        url TEXT,
        received_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        UNIQUE (source, target)
    );
    CREATE INDEX mentions_by_target ON mentions (target, received_at);
    CREATE TABLE verification_jobs (
        mention_id BIGINT PRIMARY KEY REFERENCES mentions (id) ON DELETE CASCADE,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TIMESTAMPTZ NOT NULL,
        claim_token TEXT,
        claimed_until TIMESTAMPTZ
    );
    CREATE INDEX verification_jobs_due ON verification_jobs (due_at);"#,
    // 3: domains blocked through the admin API or CLI.
    r#"CREATE TABLE blocked_domains (
        domain TEXT COLLATE "C" PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL
    );"#,
    // 4: the durable queue of webhook deliveries.
    r#"CREATE TABLE webhook_deliveries (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        mention_id BIGINT NOT NULL REFERENCES mentions (id) ON DELETE CASCADE,
        event TEXT NOT NULL CHECK (event IN ('new', 'updated', 'deleted')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TIMESTAMPTZ NOT NULL,
        claim_token TEXT,
        claimed_until TIMESTAMPTZ
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at);
    CREATE INDEX webhook_deliveries_by_mention ON webhook_deliveries (mention_id);"#,
    // 5: cached Mastodon reply threads and what the owner hid from them.
    r#"CREATE TABLE thread_cache (
        url TEXT PRIMARY KEY,
        payload TEXT NOT NULL,
        fetched_at TIMESTAMPTZ NOT NULL,
        fresh_until TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE hidden_replies (
        status_id TEXT PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE hidden_accounts (
        acct TEXT PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL
    );"#,
    // 6: one durable queue for every kind of background work; the
    // verification and webhook queues move onto it. A running job's
    // `due_at` is the end of its lease. Ids sort bytewise (`COLLATE "C"`).
    r#"CREATE TABLE jobs (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        dedupe_key TEXT,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TIMESTAMPTZ NOT NULL,
        lease TEXT,
        last_error TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX jobs_due ON jobs (due_at, id) WHERE state <> 'dead';
    CREATE INDEX jobs_by_kind ON jobs (kind, state);
    CREATE UNIQUE INDEX jobs_queued_key ON jobs (dedupe_key) WHERE state = 'queued';
    INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, due_at, created_at, updated_at)
        SELECT lpad(to_hex((extract(epoch FROM due_at) * 1000)::bigint), 12, '0')
                   || substr(md5(random()::text || mention_id::text), 1, 12),
               'verify-mention', json_build_object('mention_id', mention_id)::text,
               'verify-mention:' || mention_id, 'queued', attempts, due_at, due_at, due_at
        FROM verification_jobs;
    INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, due_at, created_at, updated_at)
        SELECT lpad(to_hex((extract(epoch FROM due_at) * 1000)::bigint), 12, '0')
                   || substr(md5(random()::text || id::text), 1, 12),
               'deliver-webhook',
               json_build_object('mention_id', mention_id, 'event', event)::text,
               NULL, 'queued', attempts, due_at, due_at, due_at
        FROM webhook_deliveries;
    DROP TABLE verification_jobs;
    DROP TABLE webhook_deliveries;"#,
    // 7: publishing: what each post sent, and what each feed said.
    r#"CREATE TABLE sent_sources (
        source TEXT COLLATE "C" PRIMARY KEY,
        version TEXT,
        links TEXT NOT NULL,
        gone BOOLEAN NOT NULL DEFAULT false,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE sent_targets (
        source TEXT COLLATE "C" NOT NULL,
        target TEXT COLLATE "C" NOT NULL,
        endpoint TEXT,
        status TEXT NOT NULL CHECK (status IN ('sent', 'no-endpoint', 'retrying', 'failed')),
        http_status INTEGER,
        answer TEXT,
        attempts INTEGER NOT NULL,
        version TEXT NOT NULL,
        delivered_version TEXT,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (source, target)
    );
    CREATE TABLE feeds (
        feed TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        entries TEXT NOT NULL,
        checked_at TIMESTAMPTZ NOT NULL
    );"#,
    // 8: secrets the service makes for itself (the URL-signing key); the
    // first value stored under a name wins.
    r#"CREATE TABLE secrets (
        name TEXT COLLATE "C" PRIMARY KEY,
        value BYTEA NOT NULL,
        created_at TIMESTAMPTZ NOT NULL
    );"#,
    // 9: other receivers' ids for a mention (imported status ids).
    r#"CREATE TABLE mention_aliases (
        alias TEXT PRIMARY KEY,
        mention_id BIGINT NOT NULL REFERENCES mentions (id) ON DELETE CASCADE
    );"#,
    // 10: the ActivityPub actor's followers and published posts; how a mention came.
    r#"CREATE TABLE followers (
        actor TEXT COLLATE "C" PRIMARY KEY,
        inbox TEXT NOT NULL,
        shared_inbox TEXT,
        followed_at TIMESTAMPTZ NOT NULL
    );
    CREATE TABLE published_posts (
        url TEXT COLLATE "C" PRIMARY KEY,
        object TEXT,
        published_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    );
    ALTER TABLE mentions ADD COLUMN via TEXT;"#,
];

/// Applies the migrations this database has not seen, one transaction each.
pub async fn migrate(client: &mut Object) -> Result<(), StoreError> {
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await?;
        let row = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await?;
        let version: i32 = column(&row, 0, "schema_migrations")?;
        let Some(migration) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            // Up to date, or migrated by a newer version: nothing to do.
            tx.commit().await?;
            return Ok(());
        };
        tx.batch_execute(migration).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(version + 1)],
        )
        .await?;
        tx.commit().await?;
    }
}

pub fn latest_version() -> usize {
    MIGRATIONS.len()
}
