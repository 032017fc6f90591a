-- The third release addresses notes by slug; V3.1 (written in Rust, in src/main.rs) computes
-- the slugs of the notes that exist already.
ALTER TABLE notes ADD COLUMN slug VARCHAR(200);
