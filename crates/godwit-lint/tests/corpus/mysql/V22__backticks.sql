-- expect: drop-column
ALTER TABLE `order` DROP COLUMN `desc`, ALGORITHM=INSTANT;
