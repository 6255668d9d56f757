-- A history file as schema 4 mailaudit (148d581) wrote it, dumped with
-- sqlite3 .dump (which leaves out the two PRAGMAs below). It is
-- history_v2.sql opened by that mailaudit (migrated to schema 4), then:
--  audit 5, alice: fixture_continue of tests/unit/test_history.c;
--  audit 6, alice: INBOX/8 and Sent/5 the same as audit 5, POP3 the same
--    as audit 4 (pop3_view.same_as, new in schema 4), folder list incomplete;
--  audits 7 and 8, carol, a POP3-only account on pop.example.net: UIDLs zzz
--    and yyy, then zzz alone (yyy gone).
-- Written and read by test_history.c's fixture_* and dump_* helpers (with
-- that version's ma_history_account, which had no port key) linked against
-- 148d581; tests/unit/expected/history_v4_api.txt is what dump_account
-- answered about this file for alice and bob there.
PRAGMA application_id = 1296136548;
PRAGMA user_version = 4;
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE account ( id INTEGER PRIMARY KEY, login TEXT NOT NULL, imap_host TEXT NOT NULL COLLATE NOCASE, UNIQUE (login, imap_host));
INSERT INTO account VALUES(1,'alice','imap.example.org');
INSERT INTO account VALUES(2,'bob','imap.example.org');
INSERT INTO account VALUES(3,'carol','pop.example.net');
CREATE TABLE audit ( id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), started INTEGER NOT NULL, finished INTEGER, outcome TEXT, version TEXT NOT NULL, folder_list_complete INTEGER NOT NULL DEFAULT 0);
INSERT INTO audit VALUES(1,1,1700000000,1700000005,'ok','0.1.0',1);
INSERT INTO audit VALUES(2,2,1700000010,1700000015,'ok','0.1.0',1);
INSERT INTO audit VALUES(3,1,1700000060,1700000065,'ok','0.1.0',1);
INSERT INTO audit VALUES(4,1,1700000120,1700000125,'ok','0.1.0',0);
INSERT INTO audit VALUES(5,1,1700000300,1700000305,'ok','0.1.0',0);
INSERT INTO audit VALUES(6,1,1700000400,1700000405,'ok','0.1.0',0);
INSERT INTO audit VALUES(7,3,1700000500,1700000505,'ok','0.1.0',1);
INSERT INTO audit VALUES(8,3,1700000600,1700000605,'ok','0.1.0',1);
CREATE TABLE folder_state ( audit_id INTEGER NOT NULL REFERENCES audit(id), name TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL, messages INTEGER NOT NULL, unseen INTEGER NOT NULL, deleted INTEGER NOT NULL, total_size INTEGER NOT NULL, same_as INTEGER REFERENCES audit(id), PRIMARY KEY (audit_id, name)) WITHOUT ROWID;
INSERT INTO folder_state VALUES(1,'Archive',9,100,0,1,1,0,NULL);
INSERT INTO folder_state VALUES(1,'INBOX',7,100,5,1,1,5000,NULL);
INSERT INTO folder_state VALUES(1,'Sent',5,100,2,1,1,2000,NULL);
INSERT INTO folder_state VALUES(1,'Trash',3,100,1,1,1,1000,NULL);
INSERT INTO folder_state VALUES(2,'INBOX',7,100,2,1,1,2000,NULL);
INSERT INTO folder_state VALUES(3,'Archive',9,100,1,1,1,1000,NULL);
INSERT INTO folder_state VALUES(3,'INBOX',7,100,3,1,1,3000,NULL);
INSERT INTO folder_state VALUES(3,'Junk',4,100,1,1,1,1000,NULL);
INSERT INTO folder_state VALUES(3,'Sent',5,100,2,1,0,2000,1);
INSERT INTO folder_state VALUES(3,'Trash',3,100,0,1,1,0,NULL);
INSERT INTO folder_state VALUES(4,'Archive',9,100,1,1,0,1000,3);
INSERT INTO folder_state VALUES(4,'INBOX',8,100,2,1,1,2000,NULL);
INSERT INTO folder_state VALUES(4,'Junk',4,100,1,1,0,1000,3);
INSERT INTO folder_state VALUES(4,'Sent',5,100,1,1,1,1000,NULL);
INSERT INTO folder_state VALUES(5,'INBOX',8,100,3,1,1,3000,NULL);
INSERT INTO folder_state VALUES(5,'Sent',5,100,1,1,1,1000,NULL);
INSERT INTO folder_state VALUES(6,'INBOX',8,100,3,1,0,3000,5);
INSERT INTO folder_state VALUES(6,'Sent',5,100,1,1,0,1000,5);
CREATE TABLE pop3_view ( audit_id INTEGER PRIMARY KEY REFERENCES audit(id), stat_count INTEGER NOT NULL, stat_size INTEGER NOT NULL, capa TEXT NOT NULL, uidl_complete INTEGER NOT NULL, same_as INTEGER REFERENCES audit(id));
INSERT INTO pop3_view VALUES(1,2,300,'',1,NULL);
INSERT INTO pop3_view VALUES(3,1,100,'',1,NULL);
INSERT INTO pop3_view VALUES(4,1,100,'',1,NULL);
INSERT INTO pop3_view VALUES(5,2,400,'',0,NULL);
INSERT INTO pop3_view VALUES(6,1,100,'',1,4);
INSERT INTO pop3_view VALUES(7,2,1500,'',1,NULL);
INSERT INTO pop3_view VALUES(8,1,1500,'',1,NULL);
CREATE TABLE pop3_message ( id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), uidl TEXT NOT NULL, size INTEGER NOT NULL, first_audit INTEGER NOT NULL REFERENCES audit(id), last_audit INTEGER NOT NULL REFERENCES audit(id), gone_audit INTEGER REFERENCES audit(id), UNIQUE (account_id, uidl));
INSERT INTO pop3_message VALUES(1,1,'aaa',100,1,5,NULL);
INSERT INTO pop3_message VALUES(2,1,'bbb',200,1,1,3);
INSERT INTO pop3_message VALUES(3,3,'zzz',700,7,8,NULL);
INSERT INTO pop3_message VALUES(4,3,'yyy',800,7,7,8);
CREATE TABLE mailbox ( id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, UNIQUE (account_id, folder, uidvalidity));
INSERT INTO mailbox VALUES(1,1,'Archive',9);
INSERT INTO mailbox VALUES(2,1,'INBOX',7);
INSERT INTO mailbox VALUES(3,1,'INBOX',8);
INSERT INTO mailbox VALUES(4,1,'Junk',4);
INSERT INTO mailbox VALUES(5,1,'Sent',5);
INSERT INTO mailbox VALUES(6,1,'Trash',3);
INSERT INTO mailbox VALUES(7,2,'INBOX',7);
CREATE TABLE IF NOT EXISTS "message" ( id INTEGER PRIMARY KEY, size INTEGER NOT NULL, internaldate INTEGER NOT NULL, date TEXT, sender TEXT, subject TEXT, msgid_hash BLOB, flags INTEGER NOT NULL, first_audit INTEGER NOT NULL REFERENCES audit(id), last_audit INTEGER NOT NULL REFERENCES audit(id), gone_audit INTEGER REFERENCES audit(id), gone_to TEXT);
INSERT INTO message VALUES(4294967297,1003,1700000003,NULL,'Bob <bob@example.org>','message 3',X'035a000000000000000000000000000000000000000000000000000000000000',3,3,3,NULL,NULL);
INSERT INTO message VALUES(8589934593,1001,1700000001,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 1',X'015a000000000000000000000000000000000000000000000000000000000000',1,1,3,4,'INBOX');
INSERT INTO message VALUES(8589934594,1002,1700000002,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 2',X'025a000000000000000000000000000000000000000000000000000000000000',2,1,3,4,'INBOX');
INSERT INTO message VALUES(8589934595,1003,1700000003,NULL,'Bob <bob@example.org>','message 3',X'035a000000000000000000000000000000000000000000000000000000000000',3,1,1,3,'Archive');
INSERT INTO message VALUES(8589934596,1004,1700000004,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 4',X'045a000000000000000000000000000000000000000000000000000000000000',0,1,1,3,NULL);
INSERT INTO message VALUES(8589934597,1005,1700000005,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 5',X'055a000000000000000000000000000000000000000000000000000000000000',1,1,3,4,NULL);
INSERT INTO message VALUES(12884901889,1001,1700000001,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 1',X'015a000000000000000000000000000000000000000000000000000000000000',1,4,5,NULL,NULL);
INSERT INTO message VALUES(12884901890,1002,1700000002,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 2',X'025a000000000000000000000000000000000000000000000000000000000000',2,4,5,NULL,NULL);
INSERT INTO message VALUES(12884901891,1060,1700000060,NULL,'Bob <bob@example.org>','message 60',NULL,0,5,5,NULL,NULL);
INSERT INTO message VALUES(17179869185,1050,1700000050,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 50',NULL,2,3,3,NULL,NULL);
INSERT INTO message VALUES(21474836481,1011,1700000011,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 11',X'0b5a000000000000000000000000000000000000000000000000000000000000',3,1,5,NULL,NULL);
INSERT INTO message VALUES(21474836482,1012,1700000012,NULL,'Bob <bob@example.org>','message 12',X'0c5a000000000000000000000000000000000000000000000000000000000000',0,1,1,4,NULL);
INSERT INTO message VALUES(25769803786,1050,1700000050,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 50',NULL,2,1,1,3,'Junk');
INSERT INTO message VALUES(30064771073,1021,1700000021,NULL,'Bob <bob@example.org>','message 21',X'155a000000000000000000000000000000000000000000000000000000000000',1,2,2,NULL,NULL);
INSERT INTO message VALUES(30064771074,1022,1700000022,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 22',X'165a000000000000000000000000000000000000000000000000000000000000',2,2,2,NULL,NULL);
CREATE INDEX audit_account ON audit(account_id, id);
CREATE INDEX pop3_gone ON pop3_message(gone_audit) WHERE gone_audit IS NOT NULL;
CREATE INDEX folder_state_same ON folder_state(same_as) WHERE same_as IS NOT NULL;
CREATE INDEX message_gone ON message(gone_audit) WHERE gone_audit IS NOT NULL;
CREATE INDEX pop3_view_same ON pop3_view(same_as) WHERE same_as IS NOT NULL;
COMMIT;
