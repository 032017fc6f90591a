-- expect-not: contract-with-expand
ALTER TABLE users ADD COLUMN email_normalized VARCHAR(255), ALGORITHM=INSTANT;
