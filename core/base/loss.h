/* Mail that came and went between two audits: how many of the messages that
 * arrived in each folder since the previous audit were deleted before this
 * one, although mailaudit never saw them. Numbers in, numbers out: no I/O.
 *
 * A server gives every message that enters a folder the next UID, so
 * UIDNEXT now minus UIDNEXT then (same UIDVALIDITY) is how many messages
 * entered the folder since (Dovecot numbers them one after another; other
 * servers may skip numbers, which only makes the count an overestimate of
 * arrivals, never of what is missing). Those not present now left the
 * folder: moved to another folder, or deleted. A move into folder G gives
 * out a UID in G, so departures from F can be moves only as far as UIDs
 * were given out in the other folders and are not already taken by known
 * messages matched as moved there. Sent and Drafts are never destinations
 * (their new messages are the user's own), and Drafts departures are never
 * losses (drafts are replaced all the time).
 *
 * The bound is exact for the whole mailbox: the largest number of
 * departures that moves can explain is a maximum flow from each folder's
 * departures to the other folders' free UIDs (every folder to every other
 * one; and as every message was delivered somewhere before it moved, not
 * every free UID can be a move's destination unless a move left Sent),
 * and what is left must have been deleted. It is taken first for the
 * folders whose losses are critical (INBOX, ordinary folders, Sent,
 * Archive), so that a departure that could have gone to Trash is counted
 * as Trash emptied (a warning), not as a critical loss. */
#ifndef MA_LOSS_H
#define MA_LOSS_H

#include <stddef.h>
#include <stdint.h>

#include "base/model.h"

struct ma_arrivals {
	const char *folder;   /* borrowed; for the caller's use */
	enum ma_role role;
	uint32_t allocated;   /* UIDs given out since the last audit (UIDNEXT now - then) */
	uint32_t present;     /* of those UIDs, messages present now (<= allocated) */
	uint32_t moved_in;    /* of those, known messages matched as moved here from another
			       * folder (<= allocated) */
	uint32_t deleted;     /* out: arrivals deleted before this audit (a lower bound) */
};

/* Sets a[i].deleted for every folder. The sum over critical folders is the
 * least number of critical losses consistent with the numbers; it is split
 * among them by what each folder's own departures exceed the room in all
 * other folders, the rest going to the folder with the most departures
 * (INBOX first on a tie). The same for Trash and Junk with what remains.
 * Drafts always get 0. Inputs out of range (present or moved_in above
 * allocated) are clamped. */
void ma_loss_unseen(struct ma_arrivals *a, size_t n);

#endif
