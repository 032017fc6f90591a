DROP VIEW IF EXISTS person_summary;
CREATE VIEW person_summary AS
SELECT country, count(*) AS people FROM person GROUP BY country;
