-- godwit:no-transaction
-- expect-not: transaction-control
BEGIN;
CREATE TABLE tags (id bigint PRIMARY KEY);
COMMIT;
