-- jenChat schema: the original's two tables plus a session table, all in memory as the tutorial
-- advises, so a poll costs no disk I/O. The one exception is jenChat_Bans (InnoDB, at the end):
-- a moderator's ban must outlive a database restart, which empties every MEMORY table. Every statement is idempotent and valid on MySQL 8.x and
-- MariaDB 10.11; the server applies this file at start-up. Character sets are spelled out because
-- MEMORY rows are fixed-width and the servers' defaults differ (latin1 vs utf8mb4).

-- Joined and Address are ours (the moderation CLI's `who` and `ban` by address); a table made by
-- the PHP original gets them at start-up (src/db/schema.ts). Address is the client address as the
-- app saw it (behind a proxy, with TRUST_PROXY, the forwarded one): at most 45 characters.
CREATE TABLE IF NOT EXISTS jenChat_Users (
  UserID int unsigned NOT NULL AUTO_INCREMENT,
  UserName varchar(20) CHARACTER SET ascii NOT NULL DEFAULT '',
  LastUpdate timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  Joined timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  Address varchar(45) CHARACTER SET ascii NOT NULL DEFAULT '',
  PRIMARY KEY (UserID),
  KEY jenChat_Users_UserName (UserName),
  KEY jenChat_Users_LastUpdate (LastUpdate) USING BTREE
) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4;

-- UserName is copied into each message when it is posted, so a message outlives its author's
-- logout (the original joined to jenChat_Users and lost such messages). MessageID is the delivery
-- cursor: MEMORY tables lock the whole table per insert, so ids become visible in id order.
CREATE TABLE IF NOT EXISTS jenChat_Messages (
  MessageID int unsigned NOT NULL AUTO_INCREMENT,
  UserID int unsigned NOT NULL DEFAULT 0,
  Posted timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  Message varchar(255) NOT NULL DEFAULT '',
  UserName varchar(20) CHARACTER SET ascii NOT NULL DEFAULT '',
  PRIMARY KEY (MessageID) USING BTREE,
  KEY jenChat_Messages_Posted (Posted) USING BTREE,
  KEY jenChat_Messages_UserID (UserID)
) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4;

-- Sessions hold only ids and a token (JSON, ASCII-escaped), so a short ASCII column keeps each
-- fixed-width MEMORY row near 1 KB. expires is in DB-server seconds (UNIX_TIMESTAMP()). UserID is
-- the session's participant: a session ends with its participant (logout, idle collection, handle
-- reclaimed), so the table holds about as many rows as the room has people. A table made before
-- the column existed gets it at start-up (src/db/schema.ts).
CREATE TABLE IF NOT EXISTS jenChat_Sessions (
  SessionID varchar(64) CHARACTER SET ascii NOT NULL,
  Expires int unsigned NOT NULL,
  Data varchar(768) CHARACTER SET ascii NOT NULL,
  UserID int unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY (SessionID),
  KEY jenChat_Sessions_Expires (Expires) USING BTREE,
  KEY jenChat_Sessions_UserID (UserID)
) ENGINE=MEMORY;

-- One row with a random token, written by the first process to find the table empty. MEMORY
-- tables lose their rows when the database restarts (and AUTO_INCREMENT starts again at 1); a
-- process that finds a token other than the one it knew drops its cached messages and sessions.
CREATE TABLE IF NOT EXISTS jenChat_Epoch (
  EpochID tinyint unsigned NOT NULL,
  Token char(22) CHARACTER SET ascii NOT NULL,
  PRIMARY KEY (EpochID)
) ENGINE=MEMORY;

-- Why a participant was removed by a moderator (`npm run chat -- kick`): the kick deletes their
-- jenChat_Users row, and each process that notices the row gone reads the reason here, so the
-- window of the kicked participant shows it whichever process their poll reaches. Collected with
-- the messages; losing it in a restart loses nothing that matters (the kick has happened).
CREATE TABLE IF NOT EXISTS jenChat_Kicks (
  UserID int unsigned NOT NULL,
  Kicked timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  Reason varchar(150) NOT NULL DEFAULT '',
  PRIMARY KEY (UserID),
  KEY jenChat_Kicks_Kicked (Kicked) USING BTREE
) ENGINE=MEMORY DEFAULT CHARSET=utf8mb4;

-- Bans (`npm run chat -- ban`), the one table that is NOT in memory: a ban must outlive a database
-- restart, which empties every MEMORY table. InnoDB exists on every MySQL and MariaDB. Only the
-- moderation CLI writes it; the app reads it on each login attempt (never on a poll). Target is a
-- handle (compared case-insensitively, like handles) or a client address; Expires NULL is forever.
CREATE TABLE IF NOT EXISTS jenChat_Bans (
  BanID int unsigned NOT NULL AUTO_INCREMENT,
  Target varchar(45) CHARACTER SET ascii NOT NULL,
  Created timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  Expires timestamp(3) NULL DEFAULT NULL,
  Reason varchar(150) NOT NULL DEFAULT '',
  PRIMARY KEY (BanID),
  KEY jenChat_Bans_Target (Target)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
