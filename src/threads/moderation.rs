//! Hiding Mastodon replies: one reply, or every reply from an account.
//! Used by the admin API and the CLI; hidden items never appear in a thread.

use super::Threads;
use crate::storage::StoreError;

impl Threads {
    pub async fn hide_reply(&self, status_id: &str) -> Result<(), StoreError> {
        self.store
            .hide_reply(status_id.trim(), self.clock.now())
            .await?;
        self.changes.bump();
        Ok(())
    }

    pub async fn unhide_reply(&self, status_id: &str) -> Result<bool, StoreError> {
        let found = self.store.unhide_reply(status_id.trim()).await?;
        self.changes.bump();
        Ok(found)
    }

    /// `acct` is `user@domain` (a leading `@` is fine).
    pub async fn hide_account(&self, acct: &str) -> Result<(), StoreError> {
        self.store.hide_account(acct, self.clock.now()).await?;
        self.changes.bump();
        Ok(())
    }

    pub async fn unhide_account(&self, acct: &str) -> Result<bool, StoreError> {
        let found = self.store.unhide_account(acct).await?;
        self.changes.bump();
        Ok(found)
    }
}
