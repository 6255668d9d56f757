/* Every key of the full-screen program, in ONE list: the request enum, the
 * key-to-request lookup, the help screen and the hint bars are all
 * generated from it (keys.c), so a key cannot work without being
 * documented, be documented without working, or be renamed in one place
 * and not the others.
 *
 * X(request, "keys as shown", "hint", "what it does", key1, key2, key3)
 * "keys as shown" names the keys, separated by ", " ("?, F1"); a hint bar
 * shows one of those names. "hint" is the word a hint bar puts after the
 * key ("q quit"), "" where every bar says its own. Names the keyboard
 * prints in English (Esc, Tab, PgUp) stay so; those a manual translates
 * ("Up", "Space") are marked N_(). Keys are characters,
 * or KC(KEY_...) for curses key codes; 0 = unused. */
#ifndef MA_TUI_KEYS_H
#define MA_TUI_KEYS_H

/* Curses key codes overlap Unicode code points: keep them apart. */
#define MA_KEYCODE 0x40000000
#define KC(k) ((k) | MA_KEYCODE)
#define CTRL_(c) ((c) & 0x1f)

#define MA_KEY_LIST(X) \
	/* TRANSLATORS: key names as manuals name them, apart by ", " ("Up/Down: scroll") */ \
	X(REQ_UP,        N_("Up, k"),      "",            N_("Move up (Findings: previous finding)"), KC(KEY_UP), 'k', 0) \
	X(REQ_DOWN,      N_("Down, j"),    "",            N_("Move down (Findings: next finding)"), KC(KEY_DOWN), 'j', 0) \
	X(REQ_PGUP,      "PgUp, b",        "",            N_("Scroll up one page"), KC(KEY_PPAGE), 'b', 0) \
	X(REQ_PGDN,      N_("PgDn, Space"), "",            N_("Scroll down one page"), KC(KEY_NPAGE), ' ', 0) \
	X(REQ_HOME,      "Home, g",        "",            N_("Go to the top"), KC(KEY_HOME), 'g', 0) \
	X(REQ_END,       "End, G",         "",            N_("Go to the bottom"), KC(KEY_END), 'G', 0) \
	X(REQ_ENTER,     "Enter",          "",            N_("Open the selected item (History: what that audit found); on the start screen: start the audit"), '\n', '\r', KC(KEY_ENTER)) \
	X(REQ_NEXT,      "Tab",            N_("view"),        N_("Next view; on the start screen: next field"), '\t', 0, 0) \
	X(REQ_PREV,      "Shift-Tab",      "",            N_("Previous view or field"), KC(KEY_BTAB), 0, 0) \
	X(REQ_VIEW1,     "1",              "",            N_("Findings: what was found, most severe first"), '1', 0, 0) \
	X(REQ_VIEW2,     "2",              "",            N_("Folders: messages, unseen and size per folder"), '2', 0, 0) \
	X(REQ_VIEW3,     "3",              "",            N_("IMAP vs POP3: what a POP3 device sees"), '3', 0, 0) \
	X(REQ_VIEW4,     "4",              "",            N_("Connection: the port test (p), encryption and certificates"), '4', 0, 0) \
	X(REQ_VIEW5,     "5",              "",            N_("History: earlier audits of this mailbox"), '5', 0, 0) \
	X(REQ_VIEW6,     "6",              "",            N_("Report: the text report, as exported"), '6', 0, 0) \
	X(REQ_SEARCH,    "/",              N_("search"),      N_("Search in the current view"), '/', 0, 0) \
	X(REQ_FIND_NEXT, "n",              "",            N_("Next match"), 'n', 0, 0) \
	X(REQ_FIND_PREV, "N",              "",            N_("Previous match"), 'N', 0, 0) \
	X(REQ_EXPORT,    "e",              N_("export"),      N_("Export the report to a file"), 'e', 0, 0) \
	X(REQ_AGAIN,     "r",              N_("again"),       N_("Audit again"), 'r', 0, 0) \
	X(REQ_ACK,       "A",              N_("acknowledge"), N_("Findings: acknowledge the lost mail on record, once recovered or accepted (asks first); later audits report only new losses"), 'A', 0, 0) \
	X(REQ_PROBE,     "p",              N_("test ports"),  N_("Test every port and security: IMAP 993/143, POP3 995/110, SMTP 465/587; the result is in view 4"), 'p', 0, 0) \
	X(REQ_WATCH,     "w",              N_("watch"),       N_("Watch the mailbox live: each message as it arrives, moves or is destroyed, the running counts and the deleting device's rhythm; Esc or q stops watching"), 'w', 0, 0) \
	X(REQ_HELP,      "?, F1",          N_("help"),        N_("Show or close this help"), '?', KC(KEY_F(1)), 0) \
	X(REQ_REDRAW,    "Ctrl-L",         "",            N_("Redraw the screen"), CTRL_('l'), 0, 0) \
	X(REQ_BACK,      "Esc",            "",            N_("Back (History: from an audit's findings to the list); cancels a running audit or port test"), 27, 0, 0) \
	X(REQ_QUIT,      "q",              N_("quit"),        N_("Quit (asks first while an audit runs); in an audit's findings: back to the list"), 'q', 0, 0)

#define MA_KEY_ENUM(req, label, hint, help, k1, k2, k3) req,
enum ma_request { REQ_NONE, MA_KEY_LIST(MA_KEY_ENUM) REQ_COUNT };
#undef MA_KEY_ENUM

#endif
