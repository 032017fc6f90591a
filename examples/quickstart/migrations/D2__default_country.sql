-- Data migration: runs on every migrate once the database is at version 2.
-- Idempotent: rows written by older nodes without a country get one.
UPDATE person SET country = '${default_country}' WHERE country IS NULL;
