# Tables, checks, generated columns, odd identifiers, comments and quotes everywhere.
CREATE TABLE `odd;table` (
    id INT PRIMARY KEY AUTO_INCREMENT,
    `naïve col` VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,
    `back``tick` INT CHECK (`back``tick` BETWEEN 0 AND 100),
    doubled INT AS (`back``tick` * 2) STORED,
    note TEXT,
    CONSTRAINT short_note CHECK (CHAR_LENGTH(note) < 50)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
-- a comment with a ; and a ' quote
CREATE INDEX `idx;odd` ON `odd;table` (`naïve col`(20), doubled);
/* a block comment; with "quotes" and 'quotes' */
INSERT INTO `odd;table` (`naïve col`, `back``tick`, note) VALUES
    ('it''s', 1, 'semi;colon'),
    ("double \"quoted\"", 2, 'back\\slash and \'escaped\''),
    ('ünïcødé ✓ 日本語 🦤', 3, "tab\there"),
    ('-- not a comment', 4, '# nor this'),
    ('/* nor this */', 5, NULL);
/*!40101 INSERT INTO `odd;table` (`naïve col`, `back``tick`) VALUES ('versioned comment', 6) */;
/*M!100100 INSERT INTO `odd;table` (`naïve col`, `back``tick`) VALUES ('mariadb comment', 7) */;
SELECT 1--1;
CREATE TABLE child (
    id INT PRIMARY KEY,
    parent INT,
    FOREIGN KEY (parent) REFERENCES `odd;table` (id) ON DELETE CASCADE
);
INSERT INTO child VALUES (1, 1), (2, 2);
DELETE FROM `odd;table` WHERE id = 2;
