/* The small rest of the Win32 subset: Sleep, the performance counter and tick counts (100 ns
 * ticks of CLOCK_MONOTONIC, 10 MHz), LocalAlloc and the process heap (malloc underneath). */
#include "api/win32_internal.h"
#include "core/clock.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

void WINAPI Sleep(DWORD dwMilliseconds)
{
    struct timespec ts = {.tv_sec = (time_t)(dwMilliseconds / 1000u),
                          .tv_nsec = (long)(dwMilliseconds % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

BOOL WINAPI QueryPerformanceCounter(LARGE_INTEGER *lpPerformanceCount)
{
    if (!lpPerformanceCount)
        return owu_w32_fail(ERROR_NOACCESS);
    lpPerformanceCount->QuadPart = (LONGLONG)(owu_now_ns() / 100u);
    return TRUE;
}

BOOL WINAPI QueryPerformanceFrequency(LARGE_INTEGER *lpFrequency)
{
    if (!lpFrequency)
        return owu_w32_fail(ERROR_NOACCESS);
    lpFrequency->QuadPart = 10000000;
    return TRUE;
}

ULONGLONG WINAPI GetTickCount64(void) { return owu_now_ms(); }
DWORD WINAPI GetTickCount(void) { return (DWORD)owu_now_ms(); }

HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes)
{
    void *p = (uFlags & LMEM_ZEROINIT) ? calloc(1, uBytes ? uBytes : 1) : malloc(uBytes ? uBytes : 1);
    if (!p)
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return p;
}

HLOCAL WINAPI LocalFree(HLOCAL hMem)
{
    free(hMem);
    return NULL;
}

/* One heap: any non-NULL value works as its handle. */
static int g_heap;

HANDLE WINAPI GetProcessHeap(void) { return &g_heap; }

LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes)
{
    if (hHeap != &g_heap) {
        SetLastError(ERROR_INVALID_HANDLE);
        return NULL;
    }
    void *p = (dwFlags & HEAP_ZERO_MEMORY) ? calloc(1, dwBytes ? dwBytes : 1) : malloc(dwBytes ? dwBytes : 1);
    if (!p)
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
    return p;
}

BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem)
{
    if (hHeap != &g_heap)
        return owu_w32_fail(ERROR_INVALID_HANDLE);
    free(lpMem);
    return TRUE;
}
