/* Message catalogues (glibc's gettext). Every text a person reads goes
 * through _() where it is shown or built; a table of texts marks them with
 * N_() and translates at use. English is the source text and the default. */
#ifndef MA_I18N_H
#define MA_I18N_H

#include <libintl.h>

#define MA_TEXTDOMAIN "mailaudit"

/* dgettext, not gettext: core's texts come out translated even in a program
 * (a unit test, a tool) that never called textdomain(). */
#define _(s) dgettext(MA_TEXTDOMAIN, s)
/* make pot preprocesses findings.c with MA_POT so that xgettext sees the
 * findings table's texts whole, macros expanded, still marked N_(). */
#ifndef MA_POT
#define N_(s) (s)
#endif
#define P_(one, many, n) dngettext(MA_TEXTDOMAIN, one, many, (unsigned long)(n))

/* The locale from the environment (LANG, LC_ALL, LC_MESSAGES, LANGUAGE) for
 * everything but numbers (LC_NUMERIC stays "C": files and options are parsed
 * with a decimal point), and the catalogue directory found like the provider
 * rules: the build's locale/ tree for an uninstalled build, PREFIX/share/locale
 * beside an installed PREFIX/bin/mailaudit, else the compiled-in MA_LOCALEDIR.
 * MA_LOCALEDIR in the environment overrides. Returns the directory used. */
const char *ma_i18n_init(void);

#endif
