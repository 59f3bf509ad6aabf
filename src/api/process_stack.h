/* The process-wide stack behind the Win32 subset (SetupDi*, CM_*, CreateFile): opened on
 * first use with default options (OPENWINUSB_BUSES decides the buses). Discovery reads its
 * PnP manager's device-interface table (owu_stack_interfaces) and WinUSB its Device
 * Parameters (owu_stack_registry). Tests substitute a stack of their own. */
#ifndef OWU_API_PROCESS_STACK_H
#define OWU_API_PROCESS_STACK_H

#include <openwinusb/error.h>
#include <openwinusb/stack.h>

/* The stack, opened now if needed (NULL when it cannot be opened: err says why; the next
 * call tries again). */
struct owu_stack *owu_process_stack(owu_err *err);

/* Test hooks. replace: use `stack` from now on (the caller keeps ownership and must call
 * reset, or replace again, before closing it); NULL = open lazily again. reset: close the
 * stack the process opened itself, forget a substituted one. */
void owu_process_stack_replace(struct owu_stack *stack);
void owu_process_stack_reset(void);

#endif
