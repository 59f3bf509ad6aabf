/* GetLastError / SetLastError, and the one mapping from owu status codes to Win32 errors and
 * to the NTSTATUS values OVERLAPPED.Internal carries (docs/winusb.md "Error codes"). */
#include "api/win32_internal.h"

static _Thread_local DWORD t_last_error;

DWORD WINAPI GetLastError(void) { return t_last_error; }
void WINAPI SetLastError(DWORD dwErrCode) { t_last_error = dwErrCode; }

BOOL owu_w32_fail(DWORD err)
{
    SetLastError(err);
    return FALSE;
}

/* NTSTATUS values (ntstatus.h) of the outcomes a request can have. */
enum {
    NT_SUCCESS_ = 0x00000000u,
    NT_UNSUCCESSFUL = 0xC0000001u,
    NT_INVALID_PARAMETER = 0xC000000Du,
    NT_NO_MEMORY = 0xC0000017u,
    NT_DEVICE_NOT_CONNECTED = 0xC000009Du,
    NT_IO_TIMEOUT = 0xC00000B5u,
    NT_NOT_SUPPORTED = 0xC00000BBu,
    NT_CANCELLED = 0xC0000120u,
    NT_DEVICE_BUSY = 0x80000011u,
};

static const struct {
    uint32_t nt;
    DWORD err;
} g_map[] = {
    {NT_SUCCESS_, ERROR_SUCCESS},
    {NT_UNSUCCESSFUL, ERROR_GEN_FAILURE},
    {NT_INVALID_PARAMETER, ERROR_INVALID_PARAMETER},
    {NT_NO_MEMORY, ERROR_NOT_ENOUGH_MEMORY},
    {NT_DEVICE_NOT_CONNECTED, ERROR_DEVICE_NOT_CONNECTED},
    {NT_IO_TIMEOUT, ERROR_SEM_TIMEOUT},
    {NT_NOT_SUPPORTED, ERROR_NOT_SUPPORTED},
    {NT_CANCELLED, ERROR_OPERATION_ABORTED},
    {NT_DEVICE_BUSY, ERROR_BUSY},
};

uint32_t owu_w32_ntstatus_of(int status)
{
    switch (status) {
    case OWU_OK: return NT_SUCCESS_;
    case OWU_E_CANCELLED: return NT_CANCELLED;
    case OWU_E_TIMEOUT: return NT_IO_TIMEOUT;
    case OWU_E_NODEV: return NT_DEVICE_NOT_CONNECTED;
    case OWU_E_NOMEM: return NT_NO_MEMORY;
    case OWU_E_INVAL: return NT_INVALID_PARAMETER;
    case OWU_E_NOTSUP: return NT_NOT_SUPPORTED;
    case OWU_E_BUSY: return NT_DEVICE_BUSY;
    default: return NT_UNSUCCESSFUL;   /* stall, babble, other bus errors */
    }
}

DWORD owu_w32_error_of_ntstatus(uint32_t nt)
{
    for (size_t i = 0; i < sizeof g_map / sizeof g_map[0]; i++)
        if (g_map[i].nt == nt)
            return g_map[i].err;
    return ERROR_GEN_FAILURE;
}

DWORD owu_w32_error_of(int status) { return owu_w32_error_of_ntstatus(owu_w32_ntstatus_of(status)); }
