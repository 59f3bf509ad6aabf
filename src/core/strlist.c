/* owu_strlist: a growable list of owned strings (ID lists, MULTI_SZ values). */
#include <openwinusb/pnp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int strlist_push(owu_strlist *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return OWU_E_NOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return OWU_OK;
}

int owu_strlist_add(owu_strlist *l, const char *s)
{
    if (!l || !s)
        return OWU_E_INVAL;
    char *copy = strdup(s);
    if (!copy)
        return OWU_E_NOMEM;
    int rc = strlist_push(l, copy);
    if (rc < 0)
        free(copy);
    return rc;
}

int owu_strlist_addf(owu_strlist *l, const char *fmt, ...)
{
    if (!l || !fmt)
        return OWU_E_INVAL;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return OWU_E_NOMEM;
    int rc = strlist_push(l, s);
    if (rc < 0)
        free(s);
    return rc;
}

bool owu_strlist_contains_ci(const owu_strlist *l, const char *s)
{
    if (!l || !s)
        return false;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], s) == 0)
            return true;
    return false;
}

void owu_strlist_clear(owu_strlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
