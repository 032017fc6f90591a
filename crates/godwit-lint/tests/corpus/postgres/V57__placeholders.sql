-- expect: drop-column
-- expect: index-not-concurrent
ALTER TABLE ${schema}.users DROP COLUMN legacy;
CREATE INDEX users_created_idx ON ${schema}.users (created_at);
