-- expect: constraint-added
-- expect-not: constraint-not-valid
ALTER TABLE orders ADD CONSTRAINT orders_user_fk
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;
