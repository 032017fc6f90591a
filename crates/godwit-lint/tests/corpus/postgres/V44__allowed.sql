-- godwit:lint-allow drop-table the table was only ever written by a job removed in 3.1
-- expect-not: drop-table
DROP TABLE scratch;
