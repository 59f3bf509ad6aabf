/* The handle table: small numbered slots with a type tag and a generation, so that stale
 * and wrong-kind handles are recognised rather than dereferenced. */
#include "api/win32_internal.h"

#include <stdlib.h>

#define MAX_SLOTS 65535u

struct slot {
    struct owu_w32_obj *obj;
    uint16_t gen;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *g_slots;
static size_t g_nslots;
static size_t g_live;

/* Handle value: ((gen << 16) | (slot + 1)) << 2 — never 0, never -1, multiple of 4 as on
 * Windows. */
static HANDLE make_handle(size_t slot, uint16_t gen)
{
    uintptr_t v = (((uintptr_t)gen << 16) | (uintptr_t)(slot + 1)) << 2;
    return (HANDLE)v;
}

static struct slot *slot_of(HANDLE h)
{
    uintptr_t v = (uintptr_t)h;
    if (v == 0 || (v & 3u) || ((uint64_t)v >> 34) != 0)
        return NULL;
    v >>= 2;
    size_t idx = (size_t)(v & 0xFFFFu);
    uint16_t gen = (uint16_t)(v >> 16);
    if (idx == 0 || idx > g_nslots)
        return NULL;
    struct slot *s = &g_slots[idx - 1];
    return s->obj && s->gen == gen ? s : NULL;
}

HANDLE owu_w32_handle_add(struct owu_w32_obj *obj, enum owu_win32_kind kind)
{
    obj->kind = kind;
    obj->refs = 1;
    pthread_mutex_lock(&g_lock);
    size_t i;
    for (i = 0; i < g_nslots; i++)
        if (!g_slots[i].obj)
            break;
    if (i == g_nslots) {
        if (g_nslots >= MAX_SLOTS) {
            pthread_mutex_unlock(&g_lock);
            return NULL;
        }
        size_t n = g_nslots ? g_nslots * 2 : 64;
        if (n > MAX_SLOTS)
            n = MAX_SLOTS;
        struct slot *v = realloc(g_slots, n * sizeof *v);
        if (!v) {
            pthread_mutex_unlock(&g_lock);
            return NULL;
        }
        for (size_t k = g_nslots; k < n; k++)
            v[k] = (struct slot){NULL, 0};
        g_slots = v;
        g_nslots = n;
    }
    g_slots[i].obj = obj;
    g_slots[i].gen = (uint16_t)(g_slots[i].gen + 1);
    g_live++;
    HANDLE h = make_handle(i, g_slots[i].gen);
    pthread_mutex_unlock(&g_lock);
    return h;
}

struct owu_w32_obj *owu_w32_handle_get(HANDLE h, enum owu_win32_kind kind)
{
    pthread_mutex_lock(&g_lock);
    struct slot *s = slot_of(h);
    struct owu_w32_obj *obj = s && s->obj->kind == kind ? s->obj : NULL;
    if (obj)
        obj->refs++;
    pthread_mutex_unlock(&g_lock);
    if (!obj)
        SetLastError(ERROR_INVALID_HANDLE);
    return obj;
}

void owu_w32_obj_ref(struct owu_w32_obj *obj)
{
    pthread_mutex_lock(&g_lock);
    obj->refs++;
    pthread_mutex_unlock(&g_lock);
}

void owu_w32_obj_unref(struct owu_w32_obj *obj)
{
    if (!obj)
        return;
    pthread_mutex_lock(&g_lock);
    int left = --obj->refs;
    pthread_mutex_unlock(&g_lock);
    if (left == 0 && obj->destroy)
        obj->destroy(obj);
}

bool owu_w32_handle_close(HANDLE h, enum owu_win32_kind kind, struct owu_w32_obj **obj_out)
{
    pthread_mutex_lock(&g_lock);
    struct slot *s = slot_of(h);
    struct owu_w32_obj *obj = s && (kind == 0 || s->obj->kind == kind) ? s->obj : NULL;
    if (obj) {
        s->obj = NULL;
        g_live--;
    }
    pthread_mutex_unlock(&g_lock);
    if (obj_out)
        *obj_out = obj;
    if (!obj)
        return false;
    owu_w32_obj_unref(obj);
    return true;
}

size_t owu_w32_handle_count(void)
{
    pthread_mutex_lock(&g_lock);
    size_t n = g_live;
    pthread_mutex_unlock(&g_lock);
    return n;
}
