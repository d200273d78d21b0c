//! Versioned SQLite schema, applied at start-up.
//!
//! `PRAGMA user_version` holds the number of migrations applied. Migrations
//! are append-only: never edit one that has shipped, add the next.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the URL → toot mapping and its claim lease.
    "CREATE TABLE posts (
        url TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('claimed', 'announced', 'failed')),
        toot_id TEXT,
        claim_token TEXT,
        claim_expires_at INTEGER,
        failure TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;",
    // 2: received webmentions and their durable verification queue.
    "CREATE TABLE mentions (
        id INTEGER PRIMARY KEY,
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
        published TEXT,
        url TEXT,
        received_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (source, target)
    ) STRICT;
    CREATE INDEX mentions_by_target ON mentions (target, received_at);
    CREATE TABLE verification_jobs (
        mention_id INTEGER PRIMARY KEY REFERENCES mentions (id) ON DELETE CASCADE,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        claim_token TEXT,
        claimed_until INTEGER
    ) STRICT;
    CREATE INDEX verification_jobs_due ON verification_jobs (due_at);",
    // 3: domains blocked through the admin API or CLI.
    "CREATE TABLE blocked_domains (
        domain TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) STRICT;",
    // 4: the durable queue of webhook deliveries.
    "CREATE TABLE webhook_deliveries (
        id INTEGER PRIMARY KEY,
        mention_id INTEGER NOT NULL REFERENCES mentions (id) ON DELETE CASCADE,
        event TEXT NOT NULL CHECK (event IN ('new', 'updated', 'deleted')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        claim_token TEXT,
        claimed_until INTEGER
    ) STRICT;
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_at);",
    // 5: cached Mastodon reply threads and what the owner hid from them.
    "CREATE TABLE thread_cache (
        url TEXT PRIMARY KEY,
        payload TEXT NOT NULL,
        fetched_at INTEGER NOT NULL,
        fresh_until INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE hidden_replies (
        status_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE hidden_accounts (
        acct TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
    ) STRICT;",
    // 6: one durable queue for every kind of background work; the
    // verification and webhook queues move onto it. A running job's
    // `due_at` is the end of its lease.
    "CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        dedupe_key TEXT,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'dead')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        lease TEXT,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX jobs_due ON jobs (due_at, id) WHERE state <> 'dead';
    CREATE INDEX jobs_by_kind ON jobs (kind, state);
    CREATE UNIQUE INDEX jobs_queued_key ON jobs (dedupe_key) WHERE state = 'queued';
    INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, due_at, created_at, updated_at)
        SELECT printf('%012x', due_at) || lower(hex(randomblob(6))), 'verify-mention',
               json_object('mention_id', mention_id), 'verify-mention:' || mention_id, 'queued',
               attempts, due_at, due_at, due_at
        FROM verification_jobs;
    INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, due_at, created_at, updated_at)
        SELECT printf('%012x', due_at) || lower(hex(randomblob(6))), 'deliver-webhook',
               json_object('mention_id', mention_id, 'event', event), NULL, 'queued',
               attempts, due_at, due_at, due_at
        FROM webhook_deliveries;
    DROP TABLE verification_jobs;
    DROP TABLE webhook_deliveries;",
    // 7: publishing: what each post sent, and what each feed said.
    "CREATE TABLE sent_sources (
        source TEXT PRIMARY KEY,
        version TEXT,
        links TEXT NOT NULL,
        gone INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE sent_targets (
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        endpoint TEXT,
        status TEXT NOT NULL CHECK (status IN ('sent', 'no-endpoint', 'retrying', 'failed')),
        http_status INTEGER,
        answer TEXT,
        attempts INTEGER NOT NULL,
        version TEXT NOT NULL,
        delivered_version TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (source, target)
    ) STRICT;
    CREATE TABLE feeds (
        feed TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        entries TEXT NOT NULL,
        checked_at INTEGER NOT NULL
    ) STRICT;",
    // 8: secrets the service makes for itself (the URL-signing key); the
    // first value stored under a name wins.
    "CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value BLOB NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;",
    // 9: other receivers' ids for a mention (imported status ids).
    "CREATE TABLE mention_aliases (
        alias TEXT PRIMARY KEY,
        mention_id INTEGER NOT NULL REFERENCES mentions (id) ON DELETE CASCADE
    ) STRICT;",
    // 10: the ActivityPub actor's followers and published posts; how a mention came.
    "CREATE TABLE followers (
        actor TEXT PRIMARY KEY,
        inbox TEXT NOT NULL,
        shared_inbox TEXT,
        followed_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE published_posts (
        url TEXT PRIMARY KEY,
        object TEXT,
        published_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    ALTER TABLE mentions ADD COLUMN via TEXT;",
];

/// Applies the migrations this database has not seen, in one transaction
/// each. Safe when several processes start at once: the write lock taken by
/// `BEGIN IMMEDIATE` serialises them and the version is re-read under it.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        let Some(migration) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        tx.execute_batch(migration)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}

pub fn latest_version() -> usize {
    MIGRATIONS.len()
}
