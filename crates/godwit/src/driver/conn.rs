//! The connection a driver runs on: one it opened itself, or one it borrowed from the caller's
//! pool. Drivers see a plain `PgConnection` / `MySqlConnection` / `SqliteConnection` through
//! `Deref`, whichever it is.

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, Database};

/// A driver's connection: owned, or checked out of a pool.
pub enum Conn<DB: Database> {
    /// Opened by godwit from a URL; closed when the driver closes.
    Owned(DB::Connection),
    /// Checked out of the caller's pool; see [`Pooled`].
    Pooled(Pooled<DB>),
}

/// A connection checked out of a pool. It goes back to the pool only when the driver is closed
/// cleanly (lock released, no transaction open). A driver dropped without closing (a cancelled
/// run, a panic) may have left the migration lock or a transaction on it, so the connection is
/// then closed instead, and the server releases both.
pub struct Pooled<DB: Database> {
    conn: PoolConnection<DB>,
    clean: bool,
}

impl<DB: Database> Conn<DB> {
    /// Wraps a connection checked out of a pool.
    pub fn pooled(conn: PoolConnection<DB>) -> Conn<DB> {
        Conn::Pooled(Pooled { conn, clean: false })
    }

    /// Closes an owned connection; gives a pooled one back to its pool.
    pub async fn close(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Owned(conn) => conn.close().await,
            Conn::Pooled(mut pooled) => {
                pooled.clean = true;
                drop(pooled);
                Ok(())
            }
        }
    }

    /// Whether the connection came from the caller's pool.
    pub fn is_pooled(&self) -> bool {
        matches!(self, Conn::Pooled(_))
    }
}

impl<DB: Database> Drop for Pooled<DB> {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.close_on_drop();
        }
    }
}

impl<DB: Database> Deref for Conn<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            Conn::Owned(conn) => conn,
            Conn::Pooled(pooled) => &pooled.conn,
        }
    }
}

impl<DB: Database> DerefMut for Conn<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            Conn::Owned(conn) => conn,
            Conn::Pooled(pooled) => &mut pooled.conn,
        }
    }
}
