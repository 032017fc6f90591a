CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."Tab""le" (
    "id" int PRIMARY KEY,
    "naïve column" text COLLATE "C",
    "x;y" int CHECK ("x;y" BETWEEN 0 AND 10),
    total int GENERATED ALWAYS AS ("x;y" * 2) STORED
);
CREATE INDEX "idx ; odd" ON "Odd Schema"."Tab""le" (lower("naïve column")) WHERE "x;y" > 1;
CREATE UNIQUE INDEX idx_expr ON "Odd Schema"."Tab""le" (("x;y" + id));
CREATE VIEW "Odd Schema".v AS
    SELECT id, "naïve column" || '|' || 'a;b' AS joined /* ; */ FROM "Odd Schema"."Tab""le"
    WHERE "naïve column" <> $$don't$$;
CREATE MATERIALIZED VIEW "Odd Schema".mv AS SELECT count(*) AS n FROM "Odd Schema"."Tab""le";
CREATE RULE log_delete AS ON DELETE TO "Odd Schema"."Tab""le"
    DO ALSO (SELECT 1; SELECT 2);
COMMENT ON TABLE "Odd Schema"."Tab""le" IS 'a table; with a ''comment''';
INSERT INTO "Odd Schema"."Tab""le" (id, "naïve column", "x;y") VALUES
    (1, 'αβγ', 1), (2, '日本語', 2), (3, 'emoji 🦤', 3), (4, U&'\0041\0308', 4);
REFRESH MATERIALIZED VIEW "Odd Schema".mv;
