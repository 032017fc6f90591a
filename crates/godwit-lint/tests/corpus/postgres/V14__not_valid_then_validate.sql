-- expect: constraint-added
-- expect: constraint-not-valid
-- Both in one transaction: the lock of the ADD is held while VALIDATE scans the table.
ALTER TABLE orders ADD CONSTRAINT orders_user_fk
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
