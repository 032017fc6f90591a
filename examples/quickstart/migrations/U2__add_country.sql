ALTER TABLE person DROP COLUMN country;
