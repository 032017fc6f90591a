-- expect: transaction-control
BEGIN TRANSACTION;
CREATE TABLE tags (id INTEGER PRIMARY KEY);
COMMIT;
