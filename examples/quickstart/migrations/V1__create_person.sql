-- People known to the quickstart.
CREATE TABLE person (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL
);

INSERT INTO person (name) VALUES ('Ada'), ('Grace');
