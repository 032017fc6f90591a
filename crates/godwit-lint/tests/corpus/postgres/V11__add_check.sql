-- expect: constraint-added
-- expect: constraint-not-valid
ALTER TABLE orders ADD CONSTRAINT amount_positive CHECK (amount > 0);
