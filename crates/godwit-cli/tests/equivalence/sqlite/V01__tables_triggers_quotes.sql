-- Tables, triggers, views, checks, generated columns, odd identifiers; comments and quotes
-- everywhere.
CREATE TABLE "odd;table" (
    id INTEGER PRIMARY KEY,
    [naïve col] TEXT NOT NULL CHECK ([naïve col] <> ''),
    `back``tick` INT CHECK (`back``tick` BETWEEN 0 AND 100),
    doubled INT GENERATED ALWAYS AS (`back``tick` * 2) STORED,
    virt TEXT AS ([naïve col] || '|' || 'a;b') VIRTUAL,
    note TEXT
);
CREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);
/* a block comment; with "quotes" and 'quotes' */
CREATE TRIGGER "odd trigger" AFTER INSERT ON "odd;table"
WHEN new.`back``tick` > 0
BEGIN
    -- a comment; inside
    INSERT INTO audit (what) VALUES ('inserted ' || new.[naïve col] || ';');
    UPDATE "odd;table" SET note = CASE WHEN new.`back``tick` > 2 THEN 'big; end' ELSE 'small' END
        WHERE id = new.id;
END;
CREATE VIEW "odd view" AS SELECT id, [naïve col] || ';' || coalesce(note, '') AS joined FROM "odd;table";
CREATE TEMP TABLE scratch (x);
INSERT INTO "odd;table" ([naïve col], `back``tick`) VALUES
    ('it''s', 1),
    ('back\slash', 2),
    ('ünïcødé ✓ 日本語 🦤', 3),
    ('-- not a comment', 4),
    ('/* nor this */', 5);
INSERT INTO scratch SELECT id FROM "odd;table";
DELETE FROM "odd;table" WHERE id IN (SELECT x FROM scratch WHERE x = 5);
