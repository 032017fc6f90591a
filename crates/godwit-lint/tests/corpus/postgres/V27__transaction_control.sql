-- expect: transaction-control
BEGIN;
CREATE TABLE tags (id bigint PRIMARY KEY);
COMMIT;
