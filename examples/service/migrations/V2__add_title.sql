-- The second release shows titles. Nodes of the first release keep inserting notes without one
-- during a rolling upgrade: D2 fills them in.
ALTER TABLE notes ADD COLUMN title VARCHAR(200);
