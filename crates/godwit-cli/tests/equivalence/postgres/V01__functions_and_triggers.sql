-- Functions, triggers and procedures: dollar quotes with and without tags, nested
-- BEGIN ... END blocks, semicolons and quotes everywhere; comments /* nest /* here */ too */.
CREATE TABLE account (
    id serial PRIMARY KEY,
    "Owner; name" text NOT NULL CHECK ("Owner; name" <> ''),
    balance numeric(12, 2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
    balance_cents bigint GENERATED ALWAYS AS ((balance * 100)::bigint) STORED,
    updated text
);

CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    note text := 'it''s; fine -- not a comment';
BEGIN
    -- a comment with a ; and a ' quote
    BEGIN
        NEW.updated := note || ' $$ ' || $q$nested; $$-looking$q$;
    EXCEPTION WHEN others THEN
        NEW.updated := 'failed';
    END;
    IF NEW.balance > 1000 THEN
        NEW.updated := NEW.updated || E' rich\n';
    END IF;
    RETURN NEW;
END;
$body$;

CREATE TRIGGER account_touch BEFORE INSERT OR UPDATE ON account
    FOR EACH ROW EXECUTE FUNCTION touch();

CREATE FUNCTION add_numbers(a integer, b integer) RETURNS integer
    LANGUAGE sql IMMUTABLE
    BEGIN ATOMIC
        SELECT CASE WHEN a IS NULL THEN b ELSE a + b END;
    END;

CREATE PROCEDURE deposit(who text, amount numeric)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE account SET balance = balance + amount WHERE "Owner; name" = who;
    IF NOT FOUND THEN
        INSERT INTO account ("Owner; name", balance) VALUES (who, amount);
    END IF;
END $$;

DO $$
DECLARE i int;
BEGIN
    FOR i IN 1..3 LOOP
        CALL deposit('user ' || i, add_numbers(i, 100));
    END LOOP;
END
$$;

CALL deposit('user 2', 2000);
/* a block comment /* nested */ with a ; inside */
INSERT INTO account ("Owner; name", balance) VALUES ('Zoë; "quoted"', 1.5), (E'back\\slash', 0);
