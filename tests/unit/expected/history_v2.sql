-- A history file as schema 2 mailaudit (a2fdf4a) wrote it, dumped with
-- sqlite3 .dump (which leaves out the two PRAGMAs below). Written with the
-- fixture_* helpers of tests/unit/test_history.c, in this order:
--  audit 1, alice: INBOX/7 UIDs 1-5, Archive/9 empty, Trash/3 UID 10 (no
--    Message-ID), Sent/5 UIDs 1-2, POP3 aaa bbb (complete), folder list complete;
--  audit 2, bob: INBOX/7 UIDs 1-2;
--  audit 3, alice: INBOX/7 marks 1 2 5 present (3 went to Archive/9, 4 is
--    destroyed), Trash/3 empty (10 went to Junk/4, found by size and date),
--    Sent/5 the same as audit 1, POP3 aaa only (bbb gone);
--  audit 4, alice: INBOX is now UIDVALIDITY 8 with UIDs 1-2 (INBOX/7's 1 and
--    2 again; its 5 is destroyed), Sent/5 marks 1 present (2 gone, last seen
--    by audit 3), Archive and Junk the same as audit 3, POP3 the same as
--    audit 3, folder list incomplete (Trash unread).
-- tests/unit/expected/history_v2_api.txt is what dump_account answered about
-- this file, before and after fixture_continue, built at a2fdf4a.
PRAGMA application_id = 1296136548;
PRAGMA user_version = 2;
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE account ( id INTEGER PRIMARY KEY, login TEXT NOT NULL, imap_host TEXT NOT NULL COLLATE NOCASE, UNIQUE (login, imap_host));
INSERT INTO account VALUES(1,'alice','imap.example.org');
INSERT INTO account VALUES(2,'bob','imap.example.org');
CREATE TABLE audit ( id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), started INTEGER NOT NULL, finished INTEGER, outcome TEXT, version TEXT NOT NULL, folder_list_complete INTEGER NOT NULL DEFAULT 0);
INSERT INTO audit VALUES(1,1,1700000000,1700000005,'ok','0.1.0',1);
INSERT INTO audit VALUES(2,2,1700000010,1700000015,'ok','0.1.0',1);
INSERT INTO audit VALUES(3,1,1700000060,1700000065,'ok','0.1.0',1);
INSERT INTO audit VALUES(4,1,1700000120,1700000125,'ok','0.1.0',0);
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
CREATE TABLE message ( id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL, size INTEGER NOT NULL, internaldate INTEGER NOT NULL, date TEXT, sender TEXT, subject TEXT, msgid_hash BLOB, flags INTEGER NOT NULL, first_audit INTEGER NOT NULL REFERENCES audit(id), last_audit INTEGER NOT NULL REFERENCES audit(id), gone_audit INTEGER REFERENCES audit(id), gone_to TEXT, UNIQUE (account_id, folder, uidvalidity, uid));
INSERT INTO message VALUES(1,1,'INBOX',7,1,1001,1700000001,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 1',X'015a000000000000000000000000000000000000000000000000000000000000',1,1,3,4,'INBOX');
INSERT INTO message VALUES(2,1,'INBOX',7,2,1002,1700000002,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 2',X'025a000000000000000000000000000000000000000000000000000000000000',2,1,3,4,'INBOX');
INSERT INTO message VALUES(3,1,'INBOX',7,3,1003,1700000003,NULL,'Bob <bob@example.org>','message 3',X'035a000000000000000000000000000000000000000000000000000000000000',3,1,1,3,'Archive');
INSERT INTO message VALUES(4,1,'INBOX',7,4,1004,1700000004,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 4',X'045a000000000000000000000000000000000000000000000000000000000000',0,1,1,3,NULL);
INSERT INTO message VALUES(5,1,'INBOX',7,5,1005,1700000005,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 5',X'055a000000000000000000000000000000000000000000000000000000000000',1,1,3,4,NULL);
INSERT INTO message VALUES(6,1,'Trash',3,10,1050,1700000050,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 50',NULL,2,1,1,3,'Junk');
INSERT INTO message VALUES(7,1,'Sent',5,1,1011,1700000011,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 11',X'0b5a000000000000000000000000000000000000000000000000000000000000',3,1,4,NULL,NULL);
INSERT INTO message VALUES(8,1,'Sent',5,2,1012,1700000012,NULL,'Bob <bob@example.org>','message 12',X'0c5a000000000000000000000000000000000000000000000000000000000000',0,1,1,4,NULL);
INSERT INTO message VALUES(9,2,'INBOX',7,1,1021,1700000021,NULL,'Bob <bob@example.org>','message 21',X'155a000000000000000000000000000000000000000000000000000000000000',1,2,2,NULL,NULL);
INSERT INTO message VALUES(10,2,'INBOX',7,2,1022,1700000022,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 22',X'165a000000000000000000000000000000000000000000000000000000000000',2,2,2,NULL,NULL);
INSERT INTO message VALUES(11,1,'Archive',9,1,1003,1700000003,NULL,'Bob <bob@example.org>','message 3',X'035a000000000000000000000000000000000000000000000000000000000000',3,3,3,NULL,NULL);
INSERT INTO message VALUES(12,1,'Junk',4,1,1050,1700000050,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 50',NULL,2,3,3,NULL,NULL);
INSERT INTO message VALUES(13,1,'INBOX',8,1,1001,1700000001,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 1',X'015a000000000000000000000000000000000000000000000000000000000000',1,4,4,NULL,NULL);
INSERT INTO message VALUES(14,1,'INBOX',8,2,1002,1700000002,'Tue, 14 Nov 2023 22:13:20 +0000','Bob <bob@example.org>','message 2',X'025a000000000000000000000000000000000000000000000000000000000000',2,4,4,NULL,NULL);
CREATE TABLE pop3_view ( audit_id INTEGER PRIMARY KEY REFERENCES audit(id), stat_count INTEGER NOT NULL, stat_size INTEGER NOT NULL, capa TEXT NOT NULL, uidl_complete INTEGER NOT NULL);
INSERT INTO pop3_view VALUES(1,2,300,'',1);
INSERT INTO pop3_view VALUES(3,1,100,'',1);
INSERT INTO pop3_view VALUES(4,1,100,'',1);
CREATE TABLE pop3_message ( id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL REFERENCES account(id), uidl TEXT NOT NULL, size INTEGER NOT NULL, first_audit INTEGER NOT NULL REFERENCES audit(id), last_audit INTEGER NOT NULL REFERENCES audit(id), gone_audit INTEGER REFERENCES audit(id), UNIQUE (account_id, uidl));
INSERT INTO pop3_message VALUES(1,1,'aaa',100,1,4,NULL);
INSERT INTO pop3_message VALUES(2,1,'bbb',200,1,1,3);
CREATE INDEX audit_account ON audit(account_id, id);
CREATE INDEX message_gone ON message(gone_audit) WHERE gone_audit IS NOT NULL;
CREATE INDEX pop3_gone ON pop3_message(gone_audit) WHERE gone_audit IS NOT NULL;
CREATE INDEX folder_state_same ON folder_state(same_as) WHERE same_as IS NOT NULL;
COMMIT;
