//! Migrating through a pool the application already has.

use async_trait::async_trait;

use crate::driver::{mysql, postgres, sqlite, Dialect, Driver, DriverResult};

mod sealed {
    pub trait Sealed {}
    impl Sealed for sqlx::PgPool {}
    impl Sealed for sqlx::MySqlPool {}
    impl Sealed for sqlx::SqlitePool {}
}

/// A sqlx pool of a database godwit supports: [`sqlx::PgPool`], [`sqlx::MySqlPool`] or
/// [`sqlx::SqlitePool`]. See [`Database::from_pool`](crate::Database::from_pool).
#[async_trait]
pub trait SqlxPool: sealed::Sealed + Send + Sync {
    /// The pool's database dialect.
    fn dialect(&self) -> Dialect;

    /// Checks one connection out of the pool and wraps it in a driver.
    #[doc(hidden)]
    async fn __driver(&self) -> DriverResult<Box<dyn Driver>>;
}

#[async_trait]
impl SqlxPool for sqlx::PgPool {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn __driver(&self) -> DriverResult<Box<dyn Driver>> {
        Ok(Box::new(postgres::PgDriver::from_pool(self).await?))
    }
}

#[async_trait]
impl SqlxPool for sqlx::MySqlPool {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    async fn __driver(&self) -> DriverResult<Box<dyn Driver>> {
        Ok(Box::new(mysql::MySqlDriver::from_pool(self).await?))
    }
}

#[async_trait]
impl SqlxPool for sqlx::SqlitePool {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn __driver(&self) -> DriverResult<Box<dyn Driver>> {
        Ok(Box::new(sqlite::SqliteDriver::from_pool(self).await?))
    }
}
