//! Migrating through a pool the application already has.

use async_trait::async_trait;

use crate::driver::{Dialect, Driver, DriverResult};

mod sealed {
    pub trait Sealed {}
    #[cfg(feature = "postgres")]
    impl Sealed for sqlx::PgPool {}
    #[cfg(feature = "mysql")]
    impl Sealed for sqlx::MySqlPool {}
    #[cfg(feature = "sqlite")]
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

#[cfg(feature = "postgres")]
#[async_trait]
impl SqlxPool for sqlx::PgPool {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn __driver(&self) -> DriverResult<Box<dyn Driver>> {
        Ok(Box::new(
            crate::driver::postgres::PgDriver::from_pool(self).await?,
        ))
    }
}

#[cfg(feature = "mysql")]
#[async_trait]
impl SqlxPool for sqlx::MySqlPool {
    fn dialect(&self) -> Dialect {
        Dialect::MySql
    }

    async fn __driver(&self) -> DriverResult<Box<dyn Driver>> {
        Ok(Box::new(
            crate::driver::mysql::MySqlDriver::from_pool(self).await?,
        ))
    }
}

#[cfg(feature = "sqlite")]
#[async_trait]
impl SqlxPool for sqlx::SqlitePool {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn __driver(&self) -> DriverResult<Box<dyn Driver>> {
        Ok(Box::new(
            crate::driver::sqlite::SqliteDriver::from_pool(self).await?,
        ))
    }
}
