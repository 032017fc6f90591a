-- expect: rename-table
RENAME TABLE users TO accounts;
