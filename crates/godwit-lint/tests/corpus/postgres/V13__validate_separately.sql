-- expect-not: constraint-not-valid
ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;
