/* The kinds of finding, the audit's and the connection doctor's, in one
 * table: for each a stable code (docs/findings.md), its severities, why it
 * matters and what to do. findings.h makes the enum of it, findings.c the
 * table every finding takes its code, severity, why and fix from.
 *
 * Severities by grade (enum ma_grade in findings.h): most kinds have one
 * (MA_SEV_ONE); a few depend on what was seen, and a check says which
 * grade it found (MA_SEV_GRADED(mild, usual, grave)), so every severity a
 * code can have is written here. */
#ifndef MA_FINDING_KINDS_H
#define MA_FINDING_KINDS_H

#define MA_SEV_ONE(s) { MA_SEV_##s, MA_SEV_##s, MA_SEV_##s }
#define MA_SEV_GRADED(mild, usual, grave) { MA_SEV_##mild, MA_SEV_##usual, MA_SEV_##grave }

/* Client settings named once, because several fixes point at them. */
#define MA_FIX_KEEP_ON_SERVER \
	"Best: use IMAP on every device; IMAP leaves mail on the server.\n" \
	"Otherwise set every POP3 client to leave mail on the server:\n" \
	"- Thunderbird: Account Settings > Server Settings: check \"Leave messages " \
	"on server\" and uncheck \"For at most 14 days\" (its POP3 default deletes " \
	"mail from the server after 14 days).\n" \
	"- Outlook: Account settings > More settings > Advanced: check \"Leave a " \
	"copy of messages on the server\" and untick \"Remove from server after N " \
	"days\".\n" \
	"- Apple Mail: Advanced: \"Remove copy from server after retrieving a " \
	"message: Never\".\n" \
	"- Phone apps: add the account as IMAP; with POP3 set \"delete from " \
	"server: never\".\n" \
	"- fetchmail: add \"keep\" to the poll entry.\n" \
	"- getmail6: \"delete = false\" in [options]."

/* Outside INBOX a POP3 program cannot delete anything: the settings to
 * look at are those of IMAP programs and of people. */
#define MA_FIX_IMAP_DELETES \
	"Check every program and person that uses this mailbox over IMAP or " \
	"webmail:\n" \
	"- Thunderbird: Account Settings > Server Settings: \"When I delete a " \
	"message: Move it to the Trash folder\", and uncheck \"Empty Trash on " \
	"Exit\" and \"Clean up (Expunge) Inbox on Exit\"; under Synchronization " \
	"& Storage, \"Delete messages more than N days old\" deletes on the " \
	"server too.\n" \
	"- Outlook: AutoArchive and cleanup rules move or delete old mail.\n" \
	"- mbsync (isync): \"Expunge Both\" or \"Expunge Far\" deletes on the " \
	"server what was deleted on the computer; use \"Expunge None\".\n" \
	"- Phone apps: \"delete from server when deleted here\" and limits such " \
	"as \"keep mail for 30 days\".\n" \
	"- Webmail, and anyone else who has the password."

#define MA_FIX_RESTORE_FROM_DEVICE \
	"A program that had synced the folder may still have a copy: take that " \
	"device offline before it syncs again, then put the messages back on the " \
	"server, for example by dragging them into an IMAP folder."

#define MA_FIX_RUN_OFTEN \
	"Run mailaudit often, for example hourly from cron with --check: a " \
	"message that an audit saw before it was deleted can be named."

#define MA_FIX_ACK \
	"Once recovered or accepted, run mailaudit --ack (or press A in the " \
	"Findings view): later audits then report only new losses."

/* Kind, code, severities, why, fix: the audit's kinds first, in the order
 * of its checks, which is the order of its findings of equal severity (so
 * the most useful of them comes first); then the connection doctor's. A
 * kind the audit and the doctor both report is one row. A fix of NULL is
 * given by the check (it depends on the failure's cause). */
#define MA_FINDING_KINDS(X) \
	X(MA_K_DESTROYED, "mail-destroyed", MA_SEV_ONE(CRITICAL), \
	  "The provider keeps no backup of mail that a mail program deleted from " \
	  "the server, so it cannot restore these messages. The device that " \
	  "downloaded them holds the only copy: if it breaks, is lost or is reset, " \
	  "the mail is gone for good. Your other devices never saw these messages.", \
	  "Find the device that downloads mail over POP3 with \"delete from " \
	  "server\" (it still has these messages) and change it:\n" \
	  MA_FIX_KEEP_ON_SERVER "\n" \
	  "Then put the missing messages back on the server from that device, " \
	  "for example by dragging them into an IMAP folder.\n" MA_FIX_ACK) \
	X(MA_K_FOLDER_DESTROYED, "folder-mail-destroyed", MA_SEV_ONE(CRITICAL), \
	  "The provider keeps no backup of mail that a mail program deleted from " \
	  "the server, so it cannot restore these messages. They were not in " \
	  "INBOX, which is all a POP3 program sees: an IMAP program, a phone app, " \
	  "webmail or a person deleted them.", \
	  MA_FIX_IMAP_DELETES "\n" MA_FIX_RESTORE_FROM_DEVICE "\n" MA_FIX_ACK) \
	X(MA_K_FOLDER_DELETED, "folder-deleted", MA_SEV_GRADED(WARNING, CRITICAL, CRITICAL), \
	  "Deleting a folder deletes every message in it, and the provider keeps " \
	  "no backup of mail that a mail program deleted. A POP3 program cannot " \
	  "delete folders: an IMAP program, webmail or a person did.", \
	  "Find out who deleted the folder (a person tidying up, a program's " \
	  "folder sync or cleanup).\n" MA_FIX_IMAP_DELETES "\n" \
	  "Then create the folder again and put the messages back from a device " \
	  "that still has them. " MA_FIX_RESTORE_FROM_DEVICE "\n" MA_FIX_ACK) \
	X(MA_K_CAME_WENT, "mail-came-and-went", MA_SEV_GRADED(WARNING, CRITICAL, CRITICAL), \
	  "These messages arrived after the previous audit and were deleted " \
	  "before this one, so mailaudit never saw them: the server numbers every " \
	  "message that arrives (UID), and those numbers, not the messages, are " \
	  "all that is left. The provider keeps no backup, and only the device " \
	  "that took them may still have them. A device that deletes new mail " \
	  "minutes after it arrives is caught only this way.", \
	  "Find the device that downloads mail over POP3 with \"delete from " \
	  "server\" (it has these messages) and change it:\n" \
	  MA_FIX_KEEP_ON_SERVER "\n" MA_FIX_RUN_OFTEN "\n" MA_FIX_ACK) \
	X(MA_K_UNACKED, "losses-unacknowledged", MA_SEV_ONE(CRITICAL), \
	  "Lost mail stays on record until you say that you have dealt with it, " \
	  "so a loss is never forgotten after one report, and a monitoring check " \
	  "that is run again still sees it. The provider keeps no backup of mail " \
	  "that a mail program deleted.", \
	  "If you have not done so yet, put these messages back on the server from " \
	  "the device that still has them (mailaudit --lost lists every one, and " \
	  "the finding of the audit that found them said what deleted them).\n" \
	  MA_FIX_ACK) \
	X(MA_K_RHYTHM, "deletion-rhythm", MA_SEV_ONE(CRITICAL), \
	  "A watch (mailaudit --watch) saw at least three messages destroyed and " \
	  "when each had arrived. A program deletes on its own schedule: a POP3 " \
	  "program without \"leave a copy on the server\" shortly after arrival, " \
	  "each time it checks for mail; one set to remove mail after N days, N " \
	  "days after arrival. The rhythm names the kind of device to look for.", \
	  "Find the device with that schedule (its mail check interval, or its " \
	  "\"remove after N days\" setting) and change it:\n" \
	  MA_FIX_KEEP_ON_SERVER "\n" MA_FIX_ACK) \
	X(MA_K_TRASH, "trash-emptied", MA_SEV_ONE(WARNING), \
	  "Emptying Trash or Junk deletes mail for good: the provider keeps no " \
	  "backup. Usually that is meant; but a program that empties it on its " \
	  "own also takes mail that was deleted by mistake.", \
	  "Nothing to do if you emptied it. If nobody did, look for settings that " \
	  "empty it automatically: Thunderbird \"Empty Trash on Exit\" (Server " \
	  "Settings), phone apps and webmail that delete Trash or Junk after a " \
	  "number of days, mbsync \"Expunge\". A message in the list that is " \
	  "still needed can only come back from a device that has it.\n" MA_FIX_ACK) \
	X(MA_K_TRASH_PURGE, "trash-purge-policy", MA_SEV_ONE(WARNING), \
	  "Some servers remove mail from Trash on their own once it has been " \
	  "there a number of days (Courier-IMAP's IMAP_EMPTYTRASH, 7 days by " \
	  "default; Dovecot's autoexpunge; many webmail services). What left Trash " \
	  "since the previous audit were exactly its oldest messages, and the " \
	  "newer ones stayed: that is such a policy, not a device that empties " \
	  "Trash. The provider keeps no backup of what it removed.", \
	  "Nothing to do: this is how the server keeps Trash small. Move anything " \
	  "you still need out of Trash within that time; ask the provider how many " \
	  "days it keeps Trash if you need to know.\n" MA_FIX_ACK) \
	X(MA_K_EXPIRE, "pop3-expire", MA_SEV_GRADED(INFO, WARNING, CRITICAL), \
	  "The server announces its POP3 EXPIRE policy (RFC 2449): how long it " \
	  "keeps a message after a POP3 client downloaded it, whatever the client " \
	  "is set to. Mail the server removes this way cannot be restored, and " \
	  "devices that did not download it in time never get it.", \
	  "Use IMAP on every device: the POP3 expiry applies only to mail a POP3 " \
	  "client downloaded. If a device must use POP3, ask the provider whether " \
	  "the policy can be changed for this mailbox.") \
	X(MA_K_DRAINED, "inbox-drained", MA_SEV_ONE(WARNING), \
	  "Every message that ever arrived in INBOX got a number (UID). Far fewer " \
	  "messages are on the server than were numbered, even counting every " \
	  "other folder, so mail has been removed from the server. That may have " \
	  "been done on purpose, but it is also exactly what a POP3 client that " \
	  "deletes after downloading does, and the provider keeps no backup.", \
	  "Check every device that reads this mailbox. A POP3 client set to " \
	  "delete from the server is the usual cause:\n" MA_FIX_KEEP_ON_SERVER) \
	X(MA_K_ALERT, "server-alert", MA_SEV_ONE(WARNING), \
	  "An IMAP server sends an alert (RFC 3501: [ALERT]) for something the " \
	  "user must be told: a full mailbox, a password about to expire, " \
	  "maintenance, a mailbox about to be closed. Mail programs often hide " \
	  "it.", \
	  "Read the server's words. If they are unclear, ask the provider what " \
	  "they mean. mailaudit only shows the alert; it does not act on it.") \
	X(MA_K_IN_USE, "pop3-in-use", MA_SEV_ONE(WARNING), \
	  "POP3 lets one device at a time into the mailbox, and another device " \
	  "held it while mailaudit looked: a device downloads this mailbox over " \
	  "POP3, and POP3 clients often delete what they download.", \
	  "Find the device that uses POP3 (a computer, a phone, a scanner or a " \
	  "forwarding service) and check that it leaves mail on the server:\n" \
	  MA_FIX_KEEP_ON_SERVER) \
	X(MA_K_MISMATCH, "pop3-imap-mismatch", MA_SEV_ONE(WARNING), \
	  "POP3 and IMAP should show the same INBOX. When they differ, messages " \
	  "may be hidden from POP3 (already downloaded and marked), marked for " \
	  "deletion, or have arrived or gone between the two looks. A difference " \
	  "that stays across audits means devices see different mail.", \
	  "Run mailaudit again; a difference caused by mail arriving during the " \
	  "audit goes away. If it stays, compare the messages listed here in " \
	  "webmail and check the POP3 devices' settings.") \
	X(MA_K_EXPUNGE, "pending-expunge", MA_SEV_ONE(WARNING), \
	  "These messages are marked as deleted (\\Deleted) but still on the " \
	  "server. The next time any device expunges or compacts the folder they " \
	  "are removed for good, and the provider cannot restore them.", \
	  "If you did not mean to delete them, unmark them now (\"Undelete\" in " \
	  "webmail or a client that shows deleted messages). Set IMAP clients to " \
	  "move deleted mail to Trash rather than mark it (Thunderbird: Account " \
	  "Settings > Server Settings > \"When I delete a message: Move it to the " \
	  "Trash folder\").") \
	X(MA_K_UIDVALIDITY, "uidvalidity-reset", MA_SEV_ONE(WARNING), \
	  "The server renumbered these folders (their UIDVALIDITY changed): the " \
	  "folder was recreated, restored or migrated. Mail programs download " \
	  "the whole folder again, and mailaudit finds the messages by their " \
	  "headers instead of their numbers.", \
	  "If nobody recreated or restored these folders, ask the provider what " \
	  "happened. The evidence says whether every message is still there; one " \
	  "that is not is listed as lost. The next audit compares against the " \
	  "new numbering.") \
	X(MA_K_FOLDER_UNREAD, "folder-unread", MA_SEV_ONE(WARNING), \
	  "The server refused to show these folders while the others were read, " \
	  "so mailaudit could not check the mail in them: a message deleted " \
	  "there would go unnoticed. Their message counts are the server's, " \
	  "their sizes and flags are not known.", \
	  "Run mailaudit again. If the same folder fails each time, send the " \
	  "server's answer (in the evidence) to the provider's support: your " \
	  "mail programs probably cannot open that folder either.") \
	X(MA_K_IMAP_FAILED, "imap-failed", MA_SEV_ONE(UNKNOWN), \
	  "Without IMAP mailaudit cannot see the folders, so it cannot tell " \
	  "whether mail is safe.", NULL) \
	X(MA_K_POP3_FAILED, "pop3-failed", MA_SEV_ONE(UNKNOWN), \
	  "Without POP3 mailaudit cannot compare what a POP3 device sees with " \
	  "the folders, or read the server's POP3 expiry policy.", NULL) \
	X(MA_K_HISTORY_FAILED, "history-failed", MA_SEV_ONE(UNKNOWN), \
	  "Lost mail shows only as a difference from an earlier audit. Without " \
	  "the history mailaudit cannot tell whether mail was deleted since then.", \
	  "If the file is damaged, move it aside (it was left as it is) so that " \
	  "mailaudit starts a new history, or restore it from a backup. Otherwise " \
	  "fix what the message names (permissions, disk space).") \
	X(MA_K_INSECURE, "insecure-connection", MA_SEV_ONE(WARNING), \
	  "Certificate checks were turned off (--insecure), so nothing proved " \
	  "that mailaudit talked to the real server. Someone on the network could " \
	  "have read the password and shown false results.", \
	  "Run without --insecure. If the check fails, fix the cause it names " \
	  "(usually the server name: use the provider's server name that the " \
	  "certificate is for) and change the password if the network was not " \
	  "trusted.") \
	X(MA_K_CERT_SOON, "cert-expires-soon", MA_SEV_ONE(WARNING), \
	  "When the certificate expires, mail programs refuse to connect or ask " \
	  "the user to accept an unverified certificate.", \
	  "Servers usually renew certificates automatically a few days before " \
	  "they expire; if this stays within a week of expiry, tell the provider.") \
	X(MA_K_LOGIN_DELAY, "pop3-login-delay", MA_SEV_ONE(INFO), \
	  "The server lets a mailbox log in over POP3 only every so often " \
	  "(LOGIN-DELAY, RFC 2449), or refused the login because another session " \
	  "holds it. A login by mailaudit would lock your own POP3 program out " \
	  "for that long, so mailaudit left POP3 alone: an audit must never get " \
	  "in the way of your mail. An IMAP look, when there is one, still covers " \
	  "INBOX and every folder.", \
	  "Nothing to do. To compare POP3 with IMAP anyway, run mailaudit with " \
	  "--pop3-despite-login-delay at a time when no POP3 program is due to " \
	  "fetch mail.") \
	X(MA_K_MOVED, "mail-moved", MA_SEV_ONE(INFO), \
	  "Moved messages are still on the server, only in another folder. A " \
	  "POP3 device sees INBOX only, so it no longer sees them.", \
	  "Nothing to do if these moves were meant (filters, archiving, " \
	  "deleting to Trash). Emptying Trash deletes mail for good.") \
	X(MA_K_FIRST, "first-audit", MA_SEV_ONE(INFO), \
	  "Lost mail shows as a difference between two audits. This is the first " \
	  "look at this mailbox, so there is nothing to compare with yet.", \
	  "Run mailaudit again tomorrow, or in a few hours once your other " \
	  "devices have synced: a device that deletes mail from the server shows " \
	  "up then.") \
	X(MA_K_LOGIN, "login-not-full-address", MA_SEV_GRADED(INFO, INFO, WARNING), \
	  "The provider expects the full e-mail address as the login. Other login " \
	  "forms may stop working without warning.", \
	  "Use the full e-mail address (name@example.com) as the login on every " \
	  "device and in mailaudit.") \
	X(MA_K_ALL_CLEAR, "all-clear", MA_SEV_ONE(OK), \
	  "The provider keeps no backup of mail a mail program deleted, so the " \
	  "server's copy is the only one shared by all your devices.", \
	  "Keep every device on IMAP (or POP3 with \"Leave messages on server\") " \
	  "and run mailaudit again from time to time.") \
	X(MA_K_HOST_UNKNOWN, "host-unknown", MA_SEV_ONE(CRITICAL), \
	  "No mail client can connect to a name that does not exist; usually a " \
	  "typo or a retired server address.", \
	  "Copy the server names from the provider's administration (hosting " \
	  "service details, service addresses table) into the mail client.") \
	X(MA_K_DNS_FAILED, "dns-failed", MA_SEV_ONE(UNKNOWN), \
	  "Without an answer from the name service (DNS) nothing can be said about " \
	  "these servers: the problem may be this device's network, not the mail " \
	  "servers.", \
	  "Check that this device is online and that its DNS settings (or the " \
	  "router's) work, then run the test again, or from another network.") \
	X(MA_K_HOST_OBSOLETE, "host-obsolete", MA_SEV_ONE(WARNING), \
	  "Obsolete servers may be shut down without warning; mail then stops " \
	  "arriving in this client.", \
	  "Replace the server name with the current one from the provider's " \
	  "administration.") \
	X(MA_K_RULES_MISSING, "rules-missing", MA_SEV_ONE(INFO), \
	  "mailaudit knows the server names providers have retired from its " \
	  "list providers.rules. Without that list an obsolete name, whose " \
	  "server may shut down without warning, goes unnoticed.", \
	  "Install mailaudit with \"make install\", which puts the list in " \
	  "PREFIX/share/mailaudit beside PREFIX/bin/mailaudit, or set MA_RULES to " \
	  "the file's path (data/providers.rules in the source).") \
	X(MA_K_ALL_SILENT, "all-ports-silent", MA_SEV_ONE(CRITICAL), \
	  "When every port stays silent the block is usually on this side: a " \
	  "firewall or antivirus, or a wrong server address.", \
	  "Check the firewall and antivirus on this device (and the network's), " \
	  "and the server name; try from another network.") \
	X(MA_K_PORT_CLOSED, "port-closed", MA_SEV_ONE(INFO), \
	  "A closed port only matters if the mail client is set to it; other " \
	  "combinations may work.", \
	  "Use a combination from best-settings; if the client uses this port, " \
	  "change it.") \
	X(MA_K_STARTTLS_MISSING, "starttls-missing", MA_SEV_ONE(WARNING), \
	  "Without STARTTLS the port can only be used unencrypted, and a password " \
	  "sent there can be read on the way.", \
	  "Use the SSL/TLS port instead (993, 995, 465).") \
	X(MA_K_CERT_EXPIRED, "cert-expired", MA_SEV_ONE(CRITICAL), \
	  "Mail clients refuse (or should refuse) such a connection; accepting it " \
	  "would also accept an attacker's.", \
	  "Tell the provider. If only this computer sees it, check its date and " \
	  "time.") \
	X(MA_K_CERT_UNTRUSTED, "cert-untrusted", MA_SEV_ONE(CRITICAL), \
	  "An untrusted certificate cannot prove the server is the provider's; " \
	  "the password could go to someone else.", \
	  "Use the provider's server name exactly as published. If the problem " \
	  "stays, an antivirus or network may be intercepting TLS.") \
	X(MA_K_CERT_NAME, "cert-name-mismatch", MA_SEV_ONE(CRITICAL), \
	  "The certificate proves a different name; clients refuse it or train " \
	  "the user to click warnings away.", \
	  "Use a server name the certificate covers (listed above), as published " \
	  "by the provider.") \
	X(MA_K_LOGIN_REJECTED, "login-rejected", MA_SEV_ONE(CRITICAL), \
	  "Wrong credentials are the most common cause of connection failures " \
	  "besides an outdated server name.", \
	  "Log in with the full e-mail address; check the password (after " \
	  "changing it, wait at least 15 minutes before using the new one).") \
	X(MA_K_PLAINTEXT_REFUSED, "plaintext-refused", MA_SEV_ONE(WARNING), \
	  "The server wants encryption before the password; a client set to no " \
	  "security cannot log in.", \
	  "Set the security to SSL/TLS (or STARTTLS) in the mail client.") \
	X(MA_K_PROBE_DEADLINE, "probe-deadline", MA_SEV_ONE(UNKNOWN), \
	  "The connection test stopped at the time limit given with --deadline, " \
	  "so the combinations it cut short are neither known to work nor known " \
	  "to fail.", \
	  "Run the test again with a longer --deadline, or without one.") \
	X(MA_K_BEST_SETTINGS, "best-settings", MA_SEV_GRADED(OK, INFO, CRITICAL), \
	  "These are the combinations that worked from this computer just now; a " \
	  "mail program works only with one of them (server, port and security, a " \
	  "valid certificate and, when tried, an accepted login).", \
	  "Enter these servers, ports and security settings in the mail client.")


#endif
