/* The process-wide stack of the Win32 subset, opened lazily. */
#include "api/process_stack.h"

#include <pthread.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct owu_stack *g_stack;
static bool g_owned;

struct owu_stack *owu_process_stack(owu_err *err)
{
    pthread_mutex_lock(&g_lock);
    if (!g_stack) {
        struct owu_stack_options opt;
        owu_stack_options_default(&opt);
        if (owu_stack_open(&opt, &g_stack, err) == OWU_OK)
            g_owned = true;
        else
            g_stack = NULL;
    }
    struct owu_stack *s = g_stack;
    pthread_mutex_unlock(&g_lock);
    return s;
}

static void forget(void)
{
    if (g_owned)
        owu_stack_close(g_stack);
    g_stack = NULL;
    g_owned = false;
}

void owu_process_stack_replace(struct owu_stack *stack)
{
    pthread_mutex_lock(&g_lock);
    forget();
    g_stack = stack;
    pthread_mutex_unlock(&g_lock);
}

void owu_process_stack_reset(void)
{
    pthread_mutex_lock(&g_lock);
    forget();
    pthread_mutex_unlock(&g_lock);
}
