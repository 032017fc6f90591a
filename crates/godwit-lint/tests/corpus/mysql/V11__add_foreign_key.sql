-- expect: constraint-added
-- expect-not: constraint-not-valid
-- expect-not: mysql-online-ddl
ALTER TABLE orders ADD CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id);
