-- expect-not: data-not-rerunnable
-- A versioned migration runs once: an UPDATE of every row is fine here.
UPDATE users SET locale = 'en';
