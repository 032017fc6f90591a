-- expect: table-rewrite
ALTER TABLE events ADD COLUMN seq bigserial;
