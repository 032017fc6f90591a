-- expect: data-ddl-mysql
CREATE TABLE tmp_import (id INT PRIMARY KEY);
INSERT IGNORE INTO settings (k, v) VALUES ('theme', 'dark');
