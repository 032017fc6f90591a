-- The first release: notes with a body. `${id_column}` is set by the service for its database.
CREATE TABLE notes (
    ${id_column},
    body TEXT NOT NULL
);
