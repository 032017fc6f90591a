-- expect-not: drop-table
-- The DROP is in a function's body: it does not run now.
CREATE FUNCTION purge() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DROP TABLE IF EXISTS scratch;
END;
$$;
