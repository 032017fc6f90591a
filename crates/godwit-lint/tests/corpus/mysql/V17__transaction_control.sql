-- expect: transaction-control
START TRANSACTION;
INSERT INTO settings (k, v) VALUES ('a', 'b');
COMMIT;
