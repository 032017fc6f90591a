-- COPY with inline data, as pg_dump writes it, between other statements.
CREATE TABLE item (id integer PRIMARY KEY, label text, note text, price numeric);
INSERT INTO item VALUES (0, 'first', NULL, 0);

COPY item (id, label, note, price) FROM stdin;
1	tab\there	\N	1.5
2	back\\slash	semi;colon	2
3	ünïcødé ✓	'quoted'	3.25
4	-- not a comment	/* nor this */	4
\.

COPY item FROM stdin WITH (FORMAT csv, HEADER true);
id,label,note,price
5,"comma, inside","line
break",5
6,"""quotes""",,6
\.
UPDATE item SET note = 'after copy' WHERE id = 0;
